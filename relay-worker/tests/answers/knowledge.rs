//! `ANSWER_SOURCE=knowledge`: the fixture documents answer what they cover (grounded, with
//! their sources), staff follows up on the rest, greetings get a greeting, and a document added
//! while running is found after the next rescan.

use std::time::Duration;

use relay_worker::{
    answer::{
        AnswerSettings, AnswerSource, Knowledge, KnowledgeSettings, SmallTalk,
        DEFAULT_MIN_COVERAGE, FROM_THE_DOCUMENTS, STAFF_WILL_FOLLOW_UP,
    },
    Responder,
};

use crate::helpers::*;

#[tokio::test]
async fn a_documented_question_gets_its_passage_and_source() {
    let worker = spawn(&knowledge_source(&fixtures())).await;

    let answer = worker
        .relay
        .send(&request("How long does a refund take to arrive?", 1), None)
        .await
        .unwrap();

    let reply = &answer.reply;
    assert!(reply.starts_with(FROM_THE_DOCUMENTS), "{reply}");
    assert!(reply.contains("**billing.md › Refunds**"), "{reply}");
    assert!(reply.contains("5 to 10 business days"), "{reply}");
    assert_eq!(answer.grounded, Some(true));
    assert_eq!(answer.sources[0], "billing.md › Refunds");
    assert!(
        answer.sources.len() <= 3,
        "at most KNOWLEDGE_TOP_K sections"
    );
    for source in &answer.sources {
        assert_eq!(
            reply.matches(&format!("**{source}**")).count(),
            1,
            "each heading once: {reply}"
        );
    }
}

#[tokio::test]
async fn passages_of_nested_folders_and_text_files_name_their_document() {
    let source = AnswerSource::start(&knowledge_source(&fixtures()))
        .await
        .unwrap();
    let ask = |question: &'static str| source.respond(request(question, 1));

    let appeal = ask("I was banned by mistake, how do I appeal?")
        .await
        .unwrap()
        .reply;
    assert!(
        appeal.contains("**guides/server-rules.md › Appeals**"),
        "{appeal}"
    );
    let hours = ask("What are the support opening hours?")
        .await
        .unwrap()
        .reply;
    assert!(hours.contains("**faq.txt**"), "{hours}");
}

#[tokio::test]
async fn an_unrelated_question_gets_the_staff_message() {
    let worker = spawn(&knowledge_source(&fixtures())).await;

    let reply = worker
        .relay
        .send(
            &request("Which football team will win the league this season?", 2),
            None,
        )
        .await
        .unwrap();

    assert_staff_follows_up(&reply);
}

#[tokio::test]
async fn greetings_and_thanks_get_a_short_human_reply() {
    let source = AnswerSource::start(&knowledge_source(&fixtures()))
        .await
        .unwrap();
    for (message, talk) in [
        ("hi", SmallTalk::Greeting),
        ("hello!", SmallTalk::Greeting),
        ("thanks!", SmallTalk::Thanks),
        ("thank you so much", SmallTalk::Thanks),
        ("ok thx", SmallTalk::Thanks),
    ] {
        let reply = source.respond(request(message, 5)).await.unwrap();
        assert_eq!(reply.reply, talk.reply(), "{message:?}");
        assert_eq!(
            reply.grounded, None,
            "{message:?}: neither grounded nor not"
        );
        assert!(reply.sources.is_empty());
    }
    let question = source
        .respond(request("hi, I forgot my password", 6))
        .await
        .unwrap();
    assert_eq!(
        question.sources[0], "account.md › Password reset",
        "{question:?}"
    );
}

/// The default `KNOWLEDGE_MIN_COVERAGE` separates documented questions from off-topic ones
/// that share a common word or two with the documents ("team", "today", "account").
#[tokio::test]
async fn the_default_gate_separates_documented_from_unrelated_questions() {
    let knowledge = Knowledge::open(&knowledge(&fixtures())).await.unwrap();
    let best = |question: &str| {
        knowledge
            .search(question, 1)
            .first()
            .map_or(0.0, |hit| hit.coverage)
    };
    for question in [
        "How long does a refund take to arrive?",
        "I forgot my password",
        "how do I turn on 2FA",
        "Can I get an invoice with my VAT number?",
        "my card payment was declined",
        "how do I link my discord account",
        "when do the servers restart",
    ] {
        let coverage = best(question);
        assert!(coverage >= DEFAULT_MIN_COVERAGE, "{question:?}: {coverage}");
        assert!(!knowledge.answer(question).is_empty(), "{question:?}");
    }
    for question in [
        "Which football team will win the league this season?",
        "hello",
        "what is the capital of France",
        "is it going to rain today",
        "a good account of Roman history",
    ] {
        let coverage = best(question);
        assert!(coverage < DEFAULT_MIN_COVERAGE, "{question:?}: {coverage}");
        assert!(knowledge.answer(question).is_empty(), "{question:?}");
    }
}

#[tokio::test]
async fn a_document_added_while_running_is_found_after_the_rescan() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["billing.md", "account.md"] {
        std::fs::copy(fixtures().join(file), dir.path().join(file)).unwrap();
    }
    let mut settings = knowledge(dir.path());
    settings.reload_every = Some(Duration::from_millis(100));
    let source = AnswerSource::start(&AnswerSettings {
        knowledge: Some(settings),
        ..knowledge_source(dir.path())
    })
    .await
    .unwrap();
    let knowledge = source.knowledge().unwrap();
    let mut generations = knowledge.subscribe();
    let before = knowledge.generation();
    let worker = spawn_source(source).await;
    let question = request("Where is the lost property desk at the summer meetup?", 3);
    let reply = worker.relay.send(&question, None).await.unwrap().reply;
    assert_eq!(reply, STAFF_WILL_FOLLOW_UP);

    std::fs::create_dir(dir.path().join("events")).unwrap();
    std::fs::write(
        dir.path().join("events/lost-property.md"),
        "# Events\n\n## Lost property\n\nItems left at the summer meetup are kept at the lost \
         property desk for 30 days; write to events@example.org with a description.\n",
    )
    .unwrap();
    generations
        .wait_for(|generation| *generation > before)
        .await
        .unwrap();

    let reply = worker.relay.send(&question, None).await.unwrap();
    assert!(
        reply
            .reply
            .contains("**events/lost-property.md › Lost property**"),
        "{}",
        reply.reply
    );
    assert_eq!(reply.sources, ["events/lost-property.md › Lost property"]);
}

/// What `scripts/run` answers from without a Discord token: the example help articles give a
/// newcomer's first questions a cited answer, and nothing for what they do not cover.
#[tokio::test]
async fn the_example_help_articles_answer_a_newcomers_questions_and_nothing_else() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/knowledge");
    let source = AnswerSource::start(&knowledge_source(&examples))
        .await
        .unwrap();
    for (question, section) in [
        ("how do i close my ticket?", "tickets.md › Closing a ticket"),
        ("How long does a refund take?", "billing.md › Refunds"),
        (
            "how do I reset my password",
            "account.md › Resetting your password",
        ),
    ] {
        let reply = source.respond(request(question, 1)).await.unwrap();
        assert_eq!(reply.grounded, Some(true), "{question}: {}", reply.reply);
        assert_eq!(
            reply.sources.first().map(String::as_str),
            Some(section),
            "{question}"
        );
    }
    for off_topic in [
        "What's your favourite pizza topping?",
        "Write me a poem about the sea",
    ] {
        assert_staff_follows_up(&source.respond(request(off_topic, 1)).await.unwrap());
    }
}

/// Help articles in which no word of the questions below appears where it answers them.
fn other_words() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("app.md"),
        "# Using the app\n\n## Offline lessons\n\nDownload a unit before you travel: downloaded \
         units play without an internet connection.\n\n## Updating your payment method\n\n\
         Replace the card we charge under Settings, then Billing.\n\n## Deleting your account\n\n\
         Delete your account under Settings, then Privacy. It cannot be undone.\n",
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn with_embeddings_a_question_in_other_words_finds_the_section_that_answers_it() {
    let docs = other_words();
    let by_meaning = KnowledgeSettings {
        embeddings: Some(model_dir()),
        ..knowledge(docs.path())
    };
    let words = Knowledge::open(&knowledge(docs.path())).await.unwrap();
    let meaning = Knowledge::open(&by_meaning).await.unwrap();
    let question = "im on a train with no signal most days, can i still do my lessons?";

    let found: Vec<String> = meaning
        .ask(question, None)
        .await
        .iter()
        .map(|hit| hit.passage.source())
        .collect();
    assert_eq!(
        found.first().map(String::as_str),
        Some("app.md › Offline lessons")
    );
    let hit = &meaning.ask(question, None).await[0];
    assert!(hit.similarity.is_some_and(|s| s > 0.0), "{hit:?}");
    // By words alone, "lessons" is the only match: not enough of the question to answer.
    assert!(words.ask(question, None).await.is_empty());
}

#[tokio::test]
async fn with_embeddings_an_unrelated_question_still_gets_no_passage() {
    let docs = other_words();
    let meaning = Knowledge::open(&KnowledgeSettings {
        embeddings: Some(model_dir()),
        ..knowledge(docs.path())
    })
    .await
    .unwrap();
    for question in [
        "whats a good recipe for carbonara",
        "who won the champions league last year",
        "can you recommend a good laptop for travelling",
    ] {
        assert!(meaning.ask(question, None).await.is_empty(), "{question}");
    }
}

#[tokio::test]
async fn a_knowledge_base_that_opens_again_takes_its_section_vectors_from_the_cache_file() {
    let docs = other_words();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = cache_dir.path().join("cache/vectors.bin");
    let settings = KnowledgeSettings {
        embeddings: Some(model_dir()),
        embeddings_cache: Some(cache.clone()),
        ..knowledge(docs.path())
    };
    let question = "im on a train with no signal most days, can i still do my lessons?";
    let first = |hits: Vec<relay_worker::answer::Hit>| hits.first().map(|h| h.passage.source());
    let offline = Some("app.md › Offline lessons".to_owned());

    let cold = Knowledge::open(&settings).await.unwrap();
    assert_eq!(first(cold.ask(question, None).await), offline);
    // The layout is in `vector_cache.rs`: a 48-byte header, then per section the SHA-256 of
    // its text and 384 floats.
    const HEADER: usize = 48;
    const ENTRY: usize = 32 + 4 * 384;
    let written = std::fs::read(&cache).expect("the cache file is written");
    let sections = (written.len() - HEADER) / ENTRY;
    assert_eq!(written.len(), HEADER + sections * ENTRY);
    assert_eq!(sections, cold.sections());

    // Vectors of zeros in the file: a knowledge base that reads them, rather than running the
    // model again, no longer sees the meaning (and by words the question is not answered).
    let mut zeroed = written.clone();
    for entry in zeroed[HEADER..].chunks_exact_mut(ENTRY) {
        entry[32..].fill(0);
    }
    std::fs::write(&cache, &zeroed).unwrap();
    let warm = Knowledge::open(&settings).await.unwrap();
    assert!(warm.ask(question, None).await.is_empty());

    // A damaged file is ignored, every section is embedded again, and the file is whole again.
    std::fs::write(&cache, &written[..written.len() - 7]).unwrap();
    let mended = Knowledge::open(&settings).await.unwrap();
    assert_eq!(first(mended.ask(question, None).await), offline);
    assert_eq!(std::fs::read(&cache).unwrap(), written);

    // A file that is no vector cache (the variable pointed at the wrong file) is left as it is.
    let foreign = b"# Notes\n\nNot vectors.\n";
    std::fs::write(&cache, foreign).unwrap();
    let beside = Knowledge::open(&settings).await.unwrap();
    assert_eq!(first(beside.ask(question, None).await), offline);
    assert_eq!(std::fs::read(&cache).unwrap(), foreign);
}

#[tokio::test]
async fn a_rescan_brings_the_cache_file_up_to_date() {
    let docs = other_words();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = cache_dir.path().join("vectors.bin");
    let knowledge = Knowledge::open(&KnowledgeSettings {
        embeddings: Some(model_dir()),
        embeddings_cache: Some(cache.clone()),
        reload_every: Some(Duration::from_millis(100)),
        ..knowledge(docs.path())
    })
    .await
    .unwrap();
    // A 48-byte header, then per section its text's SHA-256 and 384 floats.
    let sections_in_file = || (std::fs::metadata(&cache).unwrap().len() - 48) / (32 + 4 * 384);
    let first = knowledge.sections();
    assert_eq!(sections_in_file(), first as u64);
    let mut generations = knowledge.subscribe();
    let before = knowledge.generation();

    std::fs::write(
        docs.path().join("events.md"),
        "# Events\n\n## Lost property\n\nItems left at the summer meetup are kept for 30 days.\n",
    )
    .unwrap();
    generations
        .wait_for(|generation| *generation > before)
        .await
        .unwrap();
    assert!(
        knowledge.sections() > first,
        "the new document's section is indexed"
    );
    assert_eq!(sections_in_file(), knowledge.sections() as u64);
}

#[tokio::test]
async fn a_model_folder_without_the_model_stops_the_source_with_a_clear_error() {
    let docs = other_words();
    let empty = tempfile::tempdir().unwrap();
    let err = Knowledge::open(&KnowledgeSettings {
        embeddings: Some(empty.path().to_path_buf()),
        ..knowledge(docs.path())
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("embeddings") && err.contains("config.json"),
        "{err}"
    );
}
