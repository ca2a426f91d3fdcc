"""Where an article goes inside one topic: into the development it fits best, or a new development that
continues a story (the nearest one, or the one it turned from) or starts one.
"""

from __future__ import annotations

from typing import Any

from bot.models import Article
from bot.stories.clusters import DevelopmentState, StoryState
from bot.stories.events import DevelopmentEvent, Event, TopicAssignment
from bot.stories.index import TermIndex
from bot.stories.merging import restory, take_in_early
from bot.stories.novelty import what_is_new
from bot.stories.ranking import Ranking
from bot.stories.turns import joinable
from bot.stories.vectors import ArticleText, SparseVector, Vocabulary

# A development's first few reports may still move it to another story; after these its story is settled.
_SETTLED = 3


class Assignment(Ranking):
    """Joins an article to a development of a topic or starts one, with the event it makes."""

    vocab: Vocabulary

    def _assign(
        self,
        topic_id: str,
        article: Article,
        text: ArticleText,
        vec: SparseVector,
        salience: dict[str, float],
        embedding: Any,
        now: float,
    ) -> tuple[TopicAssignment, Event | None]:
        source = article.source_name or str(article.source_id)
        ranked = self.rank_developments(topic_id, now)
        score = ranked[0][0] if ranked else 0.0
        ranked, turned = joinable(self, ranked, text, source, now)
        if ranked:
            return self._join(topic_id, article, ranked, vec, salience, embedding, source, now)
        story, story_is_new = self._story_for(topic_id, article, now, turned)
        dev = DevelopmentState(
            id=self.next_development_id,
            topic_id=topic_id,
            story_id=story.id,
            first_seen=now,
            last_seen=now,
            headline=article.title,
            representative_article_id=article.id,
            story_is_new=story_is_new,
        )
        self.next_development_id += self.id_step
        self.developments[dev.id] = dev
        self._grow(dev, vec, salience, embedding, source, now)
        dev.words = {
            t.stem: t.surface.rstrip(".") if t.surface.count(".") == 1 else t.surface
            for t in text.title + text.body
            if t.stem in salience
        }
        dev.what_is_new = what_is_new(dev.salience, dev.words, story.centroid.terms, self.vocab)
        story.development_count += 1
        self._grow_story(story, vec, embedding, now)
        assignment = TopicAssignment(topic_id, dev.id, story.id, True, story_is_new, score)
        return assignment, DevelopmentEvent(
            topic_id, dev.id, story.id, story_is_new, dev.headline, dev.what_is_new, 1, article.id, first=True
        )

    def _join(
        self,
        topic_id: str,
        article: Article,
        ranked: list[tuple[float, int]],
        vec: SparseVector,
        salience: dict[str, float],
        embedding: Any,
        source: str,
        now: float,
    ) -> tuple[TopicAssignment, Event | None]:
        """The article joins the best of the developments it fits (merging the runner-up if they agree)."""
        score, dev_id = ranked[0]
        dev = self.developments[dev_id]
        if self.config.merge_threshold < 1.0:
            dev = self._merge_neighbours(dev, ranked)
        known = len(dev.sources)
        self._grow(dev, vec, salience, embedding, source, now)
        story = self.stories[dev.story_id]
        self._grow_story(story, vec, embedding, now)
        if dev.article_count == 2:
            take_in_early(self, dev)
        if dev.article_count <= _SETTLED:
            restory(self, dev)
        grew = len(dev.sources) > known
        assignment = TopicAssignment(topic_id, dev.id, dev.story_id, False, False, score)
        event: Event = DevelopmentEvent(
            topic_id,
            dev.id,
            dev.story_id,
            dev.story_is_new,
            dev.headline,
            dev.what_is_new,
            len(dev.sources),
            article.id,
            first=False,
        )
        return assignment, event if grew else None

    def _story_for(
        self, topic_id: str, article: Article, now: float, turned: int | None = None
    ) -> tuple[StoryState, bool]:
        """The story a new development continues (`turned`: the story of the development the article
        turned from, if still held), or a new one."""
        self._story_index.setdefault(topic_id, TermIndex())
        if turned is not None and turned in self.stories:
            return self.stories[turned], False
        best, best_id = 0.0, None
        for story_id, score in sorted(self.story_links(topic_id).items()):
            if score > best:
                best, best_id = score, story_id
        if best_id is not None and best >= self.config.story_threshold * self.config.story_caution:
            return self.stories[best_id], False
        return self._open_story(topic_id, article.title, now), True
