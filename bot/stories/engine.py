"""The story engine: each article, in arrival order, joins or starts a development and a story per topic.

Its parts, each in its own module: lifecycle.py holds developments and stories (growth, expiry),
ranking.py scores the current article against them, assignment.py decides where it goes, regroup.py
and merging.py correct earlier decisions, topics.py says which topics an article belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.models import Article, Topic
from bot.stories.assignment import Assignment
from bot.stories.embedding import Embedder
from bot.stories.engine_config import LEXICAL_CONFIG, EngineConfig
from bot.stories.events import Decision, Event, TopicAssignment
from bot.stories.leads import embedding_text
from bot.stories.merging import merge_twins, restory
from bot.stories.topics import IMPLICIT_TOPIC, MatchContext, TopicMatcher
from bot.stories.vectors import ArticleText, Vocabulary


class StoryEngine(Assignment):
    """Online clustering of a topic's articles into developments and stories.

    Not thread-safe and synchronous on purpose: the async layer calls it through asyncio.to_thread.
    """

    def __init__(
        self,
        topics: Sequence[Topic] = (),
        config: EngineConfig | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        super().__init__(config or (EngineConfig() if embedder is not None else LEXICAL_CONFIG), embedder)
        self.vocab = Vocabulary()
        self.matcher = TopicMatcher(topics)

    def process_batch(self, articles: Sequence[Article]) -> list[Decision]:
        """Decide a batch in order, each article before the next is looked at.

        The model embeds at once the articles that name a topic's keyword (or all, without topics): they
        will need it, and one batch costs far less than one call each. The rest embed on demand.
        """
        texts = [ArticleText.of(a.title, a.text, a.url) for a in articles]
        embeddings: list[Any] = [None] * len(articles)
        if self.embedder is not None:
            wanted = [i for i, text in enumerate(texts) if self.matcher.may_need_model(text)]
            if len(wanted) > 1:
                vectors = self.embedder.embed([embedding_text(articles[i]) for i in wanted])
                for i, vector in zip(wanted, vectors, strict=True):
                    embeddings[i] = vector
        decisions = [self.process(a, e, t) for a, e, t in zip(articles, embeddings, texts, strict=True)]
        created = [e.development_id for d in decisions for e in d.events if e.first]
        if len(created) > 1:
            merge_twins(self, created)
        for dev_id in sorted(set(created)):
            # The poll's reports settle the story of a development it started.
            if (dev := self.developments.get(dev_id)) is not None and dev.article_count > 1:
                restory(self, dev, poll_end=True)
        # Each article's assignment stays as decided when it came; its alerts follow any merge or move since.
        return [self._follow_merges(d) for d in decisions]

    def process(self, article: Article, embedding: Any = None, text: ArticleText | None = None) -> Decision:
        now = article.published.timestamp()
        if text is None:
            text = ArticleText.of(article.title, article.text, article.url)
        vec, salience = self.vocab.observe(text)
        self._expire(now)
        self._look_at(article, vec, embedding, bool(text.body))
        if self.matcher.topics:
            topic_ids = self.matcher.match(article, text, vec, self._match_context())
        else:
            topic_ids = [IMPLICIT_TOPIC]
        assignments: list[TopicAssignment] = []
        events: list[Event] = []
        if topic_ids:
            embedding = self.article_embedding()
        for topic_id in topic_ids:
            assignment, event = self._assign(topic_id, article, text, vec, salience, embedding, now)
            assignments.append(assignment)
            if event is not None:
                events.append(event)
            self.matcher.learn(topic_id, vec, embedding)
        return Decision(article.id, article.item_key, tuple(assignments), tuple(events))

    def _match_context(self) -> MatchContext:
        """What topic matching may ask about the current article, and nothing more of the engine."""
        return MatchContext(
            near=self.near_topics(),
            rank=self.rank_developments,
            embedding=self.article_embedding,
            is_name=self.vocab.is_name,
            join_threshold=self.config.join_threshold,
            blend=self.config,
            embedder=self.embedder,
        )
