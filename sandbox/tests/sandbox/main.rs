//! Integration tests of the sandbox: its REST answers and rate limits over real HTTP
//! ([`rest`]), a channel's messages paged and seeded and human attachments ([`messages`]), what
//! a ticket's closing needs: DMs, uploaded files, an admin's deletions ([`lifecycle`]), slash
//! command options of each type ([`commands`]), what each user sees through the page's API
//! ([`page`]), and the newcomer's flow in a real headless Chromium against the real bot, a real
//! nats-server and a relay worker ([`browser`]). The harness is in [`helpers`].

mod browser;
mod commands;
mod helpers;
mod lifecycle;
mod messages;
mod page;
mod rest;
