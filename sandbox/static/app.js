// The sandbox page: fetches what the chosen user sees in the chosen guild from /sandbox/state
// and /sandbox/channels/{id}/messages, fetches again on every server-sent event from
// /sandbox/events, and acts through POST /sandbox/... (messages, commands, buttons, select
// menus, forms). Every failure is shown in the red banner (or in the form it concerns), never
// swallowed.
"use strict";

const INTERACTION_DEADLINE_MS = 3000;
const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;
const BUTTON_STYLES = { 1: "primary", 2: "secondary", 3: "success", 4: "danger" };
// Discord's option type of a slash command option naming a user.
const USER_OPTION = 6;
const BOOLEAN_OPTION = 5;
// Discord's component types: a button, a string select menu; and a text input's long style.
const BUTTON = 2;
const STRING_SELECT = 3;
const PARAGRAPH = 2;
// Discord's channel types of threads.
const THREADS = [11, 12];

const query = new URLSearchParams(location.search);
const state = {
  user: query.get("user") || "admin",
  // The guild shown (the first unless the address names another).
  guild: query.get("guild"),
  channel: null,
  channels: [],
  users: [],
  roles: [],
  connected: true,
  // The interaction whose form is open on the page, if one is.
  modal: null,
};

// The page's own address: who acts, and in which guild.
function remember() {
  const params = new URLSearchParams({ user: state.user });
  if (state.guild) params.set("guild", state.guild);
  history.replaceState(null, "", `?${params}`);
}

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

// Message text with <#channel>, <@user> and <@&role> mentions made readable.
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
    } else if (match[1] === "@&") {
      const role = state.roles.find((r) => r.id === id);
      span.append(el("span", { class: "mention" }, `@${role ? role.name : "deleted-role"}`));
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

function renderGuilds(guilds, current) {
  const box = $("guild-switch");
  box.hidden = guilds.length < 2;
  box.replaceChildren(...guilds.map((g) => el("option", { value: g.id, ...(g.id === current ? { selected: "" } : {}) }, g.name)));
}

function renderChannels(channels) {
  const nav = $("channels");
  const categories = channels.filter((c) => c.type === 4);
  const dms = channels.filter((c) => c.type === 1);
  const threads = channels.filter((c) => THREADS.includes(c.type));
  const button = (c, label = c.name) => {
    const kind = c.type === 1 ? "channel dm" : THREADS.includes(c.type) ? "channel thread" : "channel";
    return el("button", {
      type: "button", class: kind, "data-name": c.name,
      "data-id": c.id, "aria-current": String(c.id === state.channel),
      onclick: () => openChannel(c.id),
    }, label, c.locked ? el("small", {}, " locked") : null, c.archived ? el("small", {}, " archived") : null);
  };
  // A channel, then the threads of it this person sees.
  const withThreads = (c) => [button(c), ...threads.filter((t) => t.parent_id === c.id).map((t) => button(t))];
  const loose = channels.filter((c) => c.type !== 4 && c.type !== 1 && !THREADS.includes(c.type) && !categories.some((k) => k.id === c.parent_id));
  const children = [el("h3", {}, "Channels"), ...loose.flatMap(withThreads)];
  for (const category of categories) {
    const inside = channels.filter((c) => c.parent_id === category.id && !THREADS.includes(c.type));
    children.push(el("h3", { "data-category": category.name }, category.name), ...inside.flatMap(withThreads));
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

// What the person did that this message answers: a command by its name, a button by its
// label, a menu by its placeholder (not their custom IDs, which Discord never shows).
function interactionLine(meta, all) {
  const who = meta.user ? meta.user.username : "someone";
  if (meta.type === 5) return `${who} submitted a form`;
  if (meta.type !== 3) return `${who} used /${meta.name}`;
  const source = all.find((m) => m.id === meta.interacted_message_id);
  const component = (source ? source.components || [] : [])
    .flatMap((row) => row.components || [])
    .find((c) => c.custom_id === meta.name);
  if (component && component.label) return `${who} pressed “${component.label}”`;
  if (component) return `${who} chose in “${component.placeholder || "a menu"}”`;
  return `${who} used a button`;
}

function renderMessage(message, all) {
  const bot = Boolean(message.author && message.author.bot);
  const flags = message.flags || 0;
  const classes = ["message"];
  if (bot) classes.push("bot");
  if (message.ephemeral || flags & EPHEMERAL) classes.push("ephemeral");
  const item = el("li", { class: classes.join(" "), "data-id": message.id });
  if (message.interaction_metadata) {
    item.append(el("div", { class: "reply" }, interactionLine(message.interaction_metadata, all)));
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
  for (const embed of message.embeds || []) {
    item.append(el("div", { class: "embed" },
      embed.title ? el("div", { class: "embed-title" }, embed.title) : null,
      embed.description ? renderContent(embed.description) : null,
      ...(embed.fields || []).map((field) => el("div", { class: "embed-field" },
        el("div", { class: "embed-field-name" }, field.name),
        el("div", {}, field.value)))));
  }
  for (const row of message.components || []) {
    const buttons = (row.components || []).filter((c) => c.type === BUTTON);
    if (buttons.length > 0) {
      item.append(el("div", { class: "components" }, ...buttons.map((b) => b.url
        ? el("a", { href: b.url, target: "_blank" }, b.label || "link")
        : el("button", {
          type: "button", class: BUTTON_STYLES[b.style] || "secondary", "data-custom-id": b.custom_id,
          onclick: () => pressButton(message.id, b.custom_id),
          ...(b.disabled ? { disabled: "" } : {}),
        }, b.label || b.custom_id))));
    }
    for (const menu of (row.components || []).filter((c) => c.type === STRING_SELECT)) {
      item.append(renderSelect(message.id, menu));
    }
  }
  if (message.ephemeral || flags & EPHEMERAL) {
    item.append(el("div", { class: "note" }, "Only you can see this"));
  }
  return item;
}

// A string select menu as a dropdown: one choice is sent as soon as it is picked; a menu taking
// several is a list to pick from, sent with its button.
function renderSelect(messageId, menu) {
  const most = menu.max_values ?? 1;
  const disabled = menu.disabled ? { disabled: "" } : {};
  const options = (menu.options || []).map((o) => el("option", { value: o.value, title: o.description || "" },
    o.emoji && o.emoji.name && !o.emoji.id ? `${o.emoji.name} ${o.label}` : o.label));
  if (most <= 1) {
    const select = el("select", {
      class: "select-menu", "data-custom-id": menu.custom_id, "aria-label": menu.placeholder || menu.custom_id, ...disabled,
      onchange: () => choose(messageId, menu.custom_id, [select.value]),
    }, el("option", { value: "", disabled: "", selected: "" }, menu.placeholder || "Make a selection"), ...options);
    return el("div", { class: "components" }, select);
  }
  const select = el("select", {
    class: "select-menu", multiple: "", size: String(Math.min(options.length, 6)),
    "data-custom-id": menu.custom_id, "aria-label": menu.placeholder || menu.custom_id, ...disabled,
  }, ...options);
  const send = el("button", {
    type: "button", class: "primary", ...disabled,
    onclick: () => choose(messageId, menu.custom_id, [...select.selectedOptions].map((o) => o.value)),
  }, `Choose ${menu.min_values ?? 1} to ${most}`);
  return el("div", { class: "components" }, select, send);
}

let refreshQueued = false;
let refreshing = false;

async function refresh() {
  if (refreshing) { refreshQueued = true; return; }
  refreshing = true;
  try {
    const guild = state.guild ? `&guild=${encodeURIComponent(state.guild)}` : "";
    const data = await api("GET", `/sandbox/state?user=${encodeURIComponent(state.user)}${guild}`);
    state.users = data.users;
    state.roles = data.roles;
    state.channels = data.channels;
    state.connected = data.bot.connected;
    $("guild-name").textContent = data.guild.name;
    renderGuilds(data.guilds, data.guild.id);
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
    showModal(data.modals);
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
  closeModalDialog();
  remember();
  $("banner").hidden = true;
  refresh();
}

function switchGuild(id) {
  state.guild = id;
  state.channel = null;
  remember();
  $("banner").hidden = true;
  refresh();
}

$("guild-switch").addEventListener("change", (event) => switchGuild(event.target.value));

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
      if (option.type === BOOLEAN_OPTION) {
        const blank = option.required ? [] : [el("option", { value: "" }, "(unset)")];
        return el("select", { name: option.name, ...required }, ...blank,
          el("option", { value: "true" }, "true"), el("option", { value: "false" }, "false"));
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

async function choose(messageId, customId, values) {
  try {
    const data = await api("POST", "/sandbox/selects", { user: state.user, message_id: messageId, custom_id: customId, values });
    watchInteraction(data.interaction_id, "the selection");
  } catch (err) {
    showError(err.message);
  }
}

function closeModalDialog() {
  const open = $("modal-form");
  if (open) open.remove();
  state.modal = null;
}

// The bot's form for this person (the newest open one) as a dialog they fill in and submit;
// the browser checks required fields and lengths as the Discord client does, the sandbox
// checks again, and a refusal is shown in the form.
function showModal(modals) {
  const modal = modals.length ? modals[modals.length - 1] : null;
  if (!modal) { closeModalDialog(); return; }
  if (state.modal === modal.interaction_id) return;
  closeModalDialog();
  state.modal = modal.interaction_id;
  const inputs = modal.components.flatMap((row) => row.components || []);
  const fields = inputs.map((input) => {
    const attrs = {
      name: input.custom_id, id: `field-${input.custom_id}`,
      ...(input.required === false ? {} : { required: "" }),
      ...(input.min_length != null ? { minlength: String(input.min_length) } : {}),
      ...(input.max_length != null ? { maxlength: String(input.max_length) } : {}),
      ...(input.placeholder ? { placeholder: input.placeholder } : {}),
    };
    const field = input.style === PARAGRAPH ? el("textarea", { rows: "4", ...attrs }) : el("input", attrs);
    field.value = input.value || "";
    return field;
  });
  const error = el("p", { class: "form-error", role: "alert", hidden: "" });
  const dialog = el("dialog", { id: "modal-form", "data-custom-id": modal.custom_id });
  const form = el("form", {},
    el("h3", {}, modal.title),
    ...inputs.map((input, i) => el("label", { for: `field-${input.custom_id}` }, input.label || input.custom_id, fields[i])),
    error,
    el("div", { class: "actions" },
      el("button", { type: "button", onclick: () => dismissModal(modal.interaction_id) }, "Cancel"),
      el("button", { type: "submit", class: "primary" }, "Submit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await api("POST", `/sandbox/modals/${modal.interaction_id}`, {
        user: state.user, values: inputs.map((input, i) => [input.custom_id, fields[i].value]),
      });
      closeModalDialog();
      watchInteraction(data.interaction_id, `the form "${modal.title}"`);
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
}

async function dismissModal(interactionId) {
  closeModalDialog();
  try {
    await api("DELETE", `/sandbox/modals/${interactionId}?user=${encodeURIComponent(state.user)}`);
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
