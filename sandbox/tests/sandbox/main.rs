//! Integration tests of the sandbox: its REST answers and rate limits over real HTTP
//! ([`rest`]), a channel's messages paged and seeded and human attachments ([`messages`]), what
//! a ticket's closing needs: DMs, uploaded files, an admin's deletions ([`lifecycle`]), slash
//! command options of each type ([`commands`]), select menus and forms ([`components`]),
//! threads ([`threads`]), several guilds on several shards and the identify limit
//! ([`shards`]), what each user sees through the page's API ([`page`]), and in a real headless
//! Chromium the newcomer's flow against the real bot, a real nats-server and a relay worker,
//! and a select menu and a form on the page ([`browser`]). The harness is in [`helpers`].

mod browser;
mod commands;
mod components;
mod helpers;
mod lifecycle;
mod messages;
mod page;
mod rest;
mod shards;
mod threads;
