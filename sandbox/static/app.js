// The sandbox page: fetches what the chosen user sees from /sandbox/state and
// /sandbox/channels/{id}/messages, fetches again on every server-sent event from
// /sandbox/events, and acts through POST /sandbox/... . Every failure is shown in the red
// banner, never swallowed.
"use strict";

const INTERACTION_DEADLINE_MS = 3000;
const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;
const BUTTON_STYLES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger" };
// Discord's option type of a slash command option naming a user.
const USER_OPTION = 6;

const state = {
  user: new URLSearchParams(location.search).get("user") || "admin",
  channel: null,
  channels: [],
  users: [],
  connected: true,
};

const $ = (id) => document.getElementById(id);

function showError(text) {
  $("banner-text").textContent = text;
  $("banner").hidden = false;
}

$("banner-close").addEventListener("click", () => { $("banner").hidden = true; });

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new Error(`The sandbox does not answer (${err.message}). Is discord-sandbox running?`);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(data.error || `${method} ${path}: HTTP ${response.status}`);
  }
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Message text with <#channel> and <@user> mentions made readable.
function renderContent(text) {
  const span = el("span", { class: "content" });
  const pattern = /<(#|@!?|@&)(\d+)>/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    span.append(text.slice(last, match.index));
    const id = match[2];
    if (match[1] === "#") {
      const channel = state.channels.find((c) => c.id === id);
      span.append(el("span", {
        class: "mention", "data-channel": id,
        onclick: () => channel && openChannel(id),
      }, `#${channel ? channel.name : "unknown-channel"}`));
    } else {
      const user = state.users.find((u) => u.id === id);
      span.append(el("span", { class: "mention" }, `@${user ? user.name : id}`));
    }
    last = match.index + match[0].length;
  }
  span.append(text.slice(last));
  return span;
}

function renderUsers() {
  const box = $("user-switch");
  box.replaceChildren(...state.users.map((user) => el("button", {
    type: "button", role: "radio", "data-user": user.key,
    "aria-checked": String(user.key === state.user),
    onclick: () => switchUser(user.key),
  }, user.name, el("small", {}, user.role))));
}

function renderChannels(channels) {
  const nav = $("channels");
  const categories = channels.filter((c) => c.type === 4);
  const dms = channels.filter((c) => c.type === 1);
  const button = (c, label = c.name) => el("button", {
    type: "button", class: c.type === 1 ? "channel dm" : "channel", "data-name": c.name,
    "data-id": c.id, "aria-current": String(c.id === state.channel),
    onclick: () => openChannel(c.id),
  }, label);
  const loose = channels.filter((c) => c.type !== 4 && c.type !== 1 && !categories.some((k) => k.id === c.parent_id));
  const children = [el("h3", {}, "Channels"), ...loose.map((c) => button(c))];
  for (const category of categories) {
    const inside = channels.filter((c) => c.parent_id === category.id);
    children.push(el("h3", { "data-category": category.name }, category.name), ...inside.map((c) => button(c)));
  }
  if (dms.length) {
    // What the bot sent this person privately (a ticket's transcript, say).
    children.push(el("h3", { id: "direct-messages" }, "Direct messages"), ...dms.map((c) => button(c, "TicketBot")));
  }
  if (!channels.some((c) => c.type !== 4)) {
    children.push(el("p", { class: "hint" }, "No channel you can see."));
  }
  nav.replaceChildren(...children);
}

function renderCommands(commands) {
  const list = $("command-list");
  if (!state.connected) {
    list.replaceChildren(el("span", { class: "hint" }, "none: the bot is not connected"));
    return;
  }
  if (commands.length === 0) {
    list.replaceChildren(el("span", { class: "hint" }, "none registered by the bot yet"));
    return;
  }
  list.replaceChildren(...commands.map((command) => el("button", {
    type: "button", class: "command", "data-command": command.name, title: command.description || "",
    onclick: () => runCommand(command),
  }, "/", el("b", {}, command.name))));
}

function renderMessage(message, all) {
  const bot = Boolean(message.author && message.author.bot);
  const flags = message.flags || 0;
  const classes = ["message"];
  if (bot) classes.push("bot");
  if (message.ephemeral || flags & EPHEMERAL) classes.push("ephemeral");
  const item = el("li", { class: classes.join(" "), "data-id": message.id });
  if (message.interaction_metadata) {
    const who = message.interaction_metadata.user;
    item.append(el("div", { class: "reply" }, `${who ? who.username : "someone"} used /${message.interaction_metadata.name}`));
  } else if (message.message_reference && message.message_reference.message_id) {
    const original = all.find((m) => m.id === message.message_reference.message_id);
    const quote = original
      ? `replying to ${original.author.username}: ${original.content.slice(0, 80)}`
      : "replying to a deleted message";
    item.append(el("div", { class: "reply" }, quote));
  }
  const time = message.sent_at_ms ? new Date(message.sent_at_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "";
  item.append(el("div", { class: "meta" },
    bot ? el("span", { class: "badge" }, "BOT") : null,
    el("span", { class: "author" }, message.author ? message.author.username : "?"),
    time));
  if (flags & LOADING) {
    item.append(el("div", { class: "loading" }, "TicketBot is thinking…"));
  } else if (message.content) {
    item.append(renderContent(message.content));
  }
  for (const attachment of message.attachments || []) {
    item.append(el("a", { class: "attachment", href: attachment.url, target: "_blank" }, `📎 ${attachment.filename}`));
  }
  for (const row of message.components || []) {
    const buttons = (row.components || []).filter((c) => c.type === 2);
    if (buttons.length === 0) continue;
    item.append(el("div", { class: "components" }, ...buttons.map((b) => b.url
      ? el("a", { href: b.url, target: "_blank" }, b.label || "link")
      : el("button", {
        type: "button", class: BUTTON_STYLES[b.style] || "secondary", "data-custom-id": b.custom_id,
        onclick: () => pressButton(message.id, b.custom_id),
        ...(b.disabled ? { disabled: "" } : {}),
      }, b.label || b.custom_id))));
  }
  if (message.ephemeral || flags & EPHEMERAL) {
    item.append(el("div", { class: "note" }, "Only you can see this"));
  }
  return item;
}

let refreshQueued = false;
let refreshing = false;

async function refresh() {
  if (refreshing) { refreshQueued = true; return; }
  refreshing = true;
  try {
    const data = await api("GET", `/sandbox/state?user=${encodeURIComponent(state.user)}`);
    state.users = data.users;
    state.channels = data.channels;
    state.connected = data.bot.connected;
    $("guild-name").textContent = data.guild.name;
    const status = $("bot-status");
    status.textContent = data.bot.connected ? "● TicketBot is connected" : "● TicketBot is not connected";
    status.className = data.bot.connected ? "status ok" : "status bad";
    $("my-roles").textContent = `You are ${data.me.name}` + (data.me.roles.length ? ` (roles: ${data.me.roles.join(", ")})` : "");
    renderUsers();
    const texts = data.channels.filter((c) => c.type !== 4);
    if (!texts.some((c) => c.id === state.channel)) {
      state.channel = texts.length ? texts[0].id : null;
    }
    renderChannels(data.channels);
    renderCommands(data.commands);
    await refreshMessages();
  } catch (err) {
    showError(err.message);
  } finally {
    refreshing = false;
    if (refreshQueued) { refreshQueued = false; refresh(); }
  }
}

async function refreshMessages() {
  const channel = state.channels.find((c) => c.id === state.channel);
  $("channel-name").textContent = channel ? channel.name : "no channel";
  $("channel-topic").replaceChildren(channel && channel.topic ? renderContent(channel.topic) : "");
  $("composer-input").disabled = !channel;
  $("composer-send").disabled = !channel;
  if (!channel) {
    $("messages").replaceChildren(el("li", { class: "empty" }, "You cannot see any channel."));
    $("typing").hidden = true;
    return;
  }
  const data = await api("GET", `/sandbox/channels/${channel.id}/messages?user=${encodeURIComponent(state.user)}`);
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...(data.messages.length
    ? data.messages.map((m) => renderMessage(m, data.messages))
    : [el("li", { class: "empty" }, `This is the start of #${channel.name}.`)]));
  if (atBottom) list.scrollTop = list.scrollHeight;
  $("typing").hidden = !data.bot_typing;
}

function switchUser(key) {
  state.user = key;
  state.channel = null;
  history.replaceState(null, "", `?user=${encodeURIComponent(key)}`);
  $("banner").hidden = true;
  refresh();
}

function openChannel(id) {
  state.channel = id;
  for (const node of document.querySelectorAll(".channel")) {
    node.setAttribute("aria-current", String(node.dataset.id === id));
  }
  refreshMessages().catch((err) => showError(err.message));
}

// Discord shows "The application did not respond" when no answer came within 3 seconds.
function watchInteraction(id, what) {
  setTimeout(async () => {
    try {
      const data = await api("GET", `/sandbox/interactions/${id}`);
      if (!data.acknowledged) {
        showError(`The application did not respond to ${what} within 3 seconds.`);
      }
    } catch (err) {
      showError(err.message);
    }
  }, INTERACTION_DEADLINE_MS + 500);
}

// Asks for the command's options in a small form: a text field each, a choice among the
// people for a USER option. Resolves to [name, value] pairs, or null when cancelled.
function askOptions(command) {
  const options = command.options || [];
  if (options.length === 0) return Promise.resolve([]);
  return new Promise((resolve) => {
    const inputs = options.map((option) => {
      const required = option.required ? { required: "" } : {};
      if (option.type === USER_OPTION) {
        const blank = option.required ? [] : [el("option", { value: "" }, "(nobody)")];
        return el("select", { name: option.name, ...required }, ...blank,
          ...state.users.map((u) => el("option", { value: u.key }, `${u.name} (${u.role})`)));
      }
      return el("input", { name: option.name, ...required });
    });
    const dialog = el("dialog", { id: "command-form" });
    const form = el("form", { method: "dialog" },
      el("h3", {}, `/${command.name}`),
      ...options.map((option, i) => el("label", {}, option.name,
        option.description ? el("small", {}, option.description) : null, inputs[i])),
      el("div", { class: "actions" },
        el("button", { type: "button", onclick: () => dialog.close("cancel") }, "Cancel"),
        el("button", { type: "submit", value: "run", class: "primary" }, "Run")));
    dialog.append(form);
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (dialog.returnValue !== "run") { resolve(null); return; }
      // Discord leaves out the optional options nobody filled in.
      resolve(options.map((option, i) => [option.name, inputs[i].value]).filter(([, value]) => value !== ""));
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

async function runCommand(command) {
  const options = await askOptions(command);
  if (options === null) return;
  try {
    const data = await api("POST", "/sandbox/commands", {
      user: state.user, name: command.name, channel_id: state.channel || "0", options,
    });
    watchInteraction(data.interaction_id, `/${command.name}`);
  } catch (err) {
    showError(err.message);
  }
}

async function pressButton(messageId, customId) {
  try {
    const data = await api("POST", "/sandbox/buttons", { user: state.user, message_id: messageId, custom_id: customId });
    watchInteraction(data.interaction_id, "the button");
  } catch (err) {
    showError(err.message);
  }
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("composer-input");
  const content = input.value;
  if (!content.trim() || !state.channel) return;
  input.value = "";
  try {
    await api("POST", `/sandbox/channels/${state.channel}/messages`, { user: state.user, content });
  } catch (err) {
    showError(err.message);
  }
});

const events = new EventSource("/sandbox/events");
events.onmessage = () => refresh();
events.onerror = () => {
  if (events.readyState === EventSource.CLOSED) showError("Lost the live connection to the sandbox: reload the page.");
};
events.onopen = () => refresh();
// The bot's typing indicator fades after 10 s without an event: look again now and then.
setInterval(() => { if (!$("typing").hidden) refreshMessages().catch((err) => showError(err.message)); }, 2000);
refresh();
