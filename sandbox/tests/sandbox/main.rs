//! Integration tests of the sandbox: its REST answers and rate limits over real HTTP
//! ([`rest`]), what each user sees through the page's API ([`page`]), and the newcomer's flow in
//! a real headless Chromium against the real bot, a real nats-server and a relay worker
//! ([`browser`]). The harness is in [`helpers`].

mod browser;
mod helpers;
mod page;
mod rest;
