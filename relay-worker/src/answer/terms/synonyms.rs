//! The support vocabulary: the short forms and the other words people type in a support
//! question for what help pages write out ("pw" for password, "money back" for a refund,
//! "present" for a gift, "how much" for a price, "my son" for a child, a Samsung for Android).
//! A lexical search cannot bridge them, and they are the same whatever the organisation: these
//! lists name no organisation's product, feature or policy.
//!
//! Kept modest on purpose: an entry is a word whose other meanings are rare in a support
//! question. An ambiguous short form ("mod" is a moderator and a game modification) is still
//! searched as typed too, so it loses nothing. How a question's words become these forms, and
//! how written apart words ("log in", "two factor") are matched, is [`super`]'s work.

/// What people type, and what help pages write instead: the typed word is searched as itself
/// and as each of these (never the other way: a page that says "password" is not about "pw").
pub const SHORT_FORMS: &[(&str, &[&str])] = &[
    ("pw", &["password"]),
    ("pwd", &["password"]),
    ("passwd", &["password"]),
    ("acct", &["account"]),
    ("acc", &["account"]),
    ("sub", &["subscription"]),
    ("info", &["information", "details", "data"]),
    ("msg", &["message"]),
    ("dm", &["direct message", "private message"]),
    ("pm", &["private message", "direct message"]),
    ("sms", &["text message"]),
    ("pic", &["picture", "photo", "image", "screenshot"]),
    ("vid", &["video"]),
    ("mod", &["moderator"]),
    ("admin", &["administrator"]),
    ("config", &["configuration", "settings"]),
    ("pc", &["computer"]),
    ("site", &["website"]),
    ("db", &["database"]),
    ("cert", &["certificate"]),
    ("docs", &["documentation"]),
    ("addr", &["address"]),
    ("ppl", &["people"]),
    ("bday", &["birthday"]),
    ("mic", &["microphone"]),
    ("samsung", &["android"]),
    ("galaxy", &["android"]),
    ("iphone", &["ios"]),
    ("ipad", &["ios"]),
    ("kid", &["child", "children"]),
    ("son", &["child", "children"]),
    ("daughter", &["child", "children"]),
    ("toddler", &["child", "children"]),
    ("tier", &["plan"]),
    ("how much", &["price", "cost"]),
    ("cheap", &["price", "discount"]),
    ("cheaper", &["price", "discount"]),
    ("cheapest", &["price", "discount"]),
    ("proof of payment", &["receipt", "invoice"]),
];

/// Words and phrases people use for one another, in questions and help pages alike: each is
/// searched as all of its group.
pub const SAME_MEANING: &[&[&str]] = &[
    &["refund", "money back", "reimburse", "reimbursement"],
    &[
        "return",
        "send back",
        "sent back",
        "send it back",
        "send them back",
    ],
    &["gift", "present"],
    &["buy", "purchase"],
    &["price", "cost"],
    &[
        "two-factor",
        "2fa",
        "mfa",
        "multi-factor",
        "two-step",
        "2-step",
        "2 factor",
    ],
    &[
        "login",
        "log in",
        "log into",
        "logon",
        "log on",
        "sign in",
        "sign into",
        "signin",
    ],
    &["logout", "log out", "sign out", "signout"],
    &[
        "signup",
        "sign up",
        "register",
        "registration",
        "create an account",
        "create account",
        "open an account",
    ],
    &["talk", "speak"],
    &["pause", "suspend"],
    &["dispute", "appeal"],
    &["tyre", "tire"],
    &["username", "user name"],
    &["enable", "turn on", "switch on", "activate"],
    &["disable", "turn off", "switch off", "deactivate"],
    &["bug", "glitch"],
    &["parcel", "package", "shipment"],
    &["cryptocurrency", "crypto", "bitcoin"],
    &["discount", "coupon", "promo code"],
    &["harassment", "harass", "insult", "bully", "bullying"],
];
