"""
L{ViewIndex}: what node views hold, remembered between decisions.

A cluster keeps one L{Node} view per engine between decisions and replaces
only the views of engines that changed.  A filter that looks something up
in every view (does it hold host port 8080/tcp? is its label C{storage}
C{ssd}?) reads memory of each of them, decision after decision, although
the answers of the views it saw last time cannot have changed: views are
read-only.  A L{ViewIndex} remembers, for the views a filter has seen, the
answers and the keys they hold, by view identity: a decision then reads
one set per question instead of every view, and works out only the views
it has not seen before.

Entries are keyed by C{id(view)} and dropped when the view is garbage
(through a weak reference, before its memory can be reused), so an entry
is never taken for another view's.
"""

from __future__ import annotations

import collections
import weakref

__all__ = ["ViewIndex", "keep"]

_EMPTY: frozenset = frozenset()


def keep(nodes, ids, negated=False):
    """
    @param ids: a set from L{ViewIndex.having} or L{ViewIndex.answering}.
    @return: a new C{list} of the C{nodes} whose C{id} is in C{ids} (not in
        C{ids} when C{negated}), in order.
    """
    if negated:
        return [node for node in nodes if id(node) not in ids]
    return [node for node in nodes if id(node) in ids]


class ViewIndex:
    """
    Keys held by, and answers to questions about, the node views seen.

    @ivar questions: how many questions' answers are kept (the least
        recently asked go first).
    """

    def __init__(self, keys_of=None, ask=None, questions=64):
        """
        @param keys_of: called with a view, returns the hashable keys it
            holds (see L{having}); L{None} if L{having} is not used.
        @param ask: called with a view and a hashable question, returns
            whether the view answers yes (see L{answering}); L{None} if
            L{answering} is not used.
        @param questions: see L{questions}.
        """
        self._keys_of = keys_of
        self._ask = ask
        self.questions = questions
        # id(view) -> weak reference; id(view) -> the keys it holds.
        self._refs = {}
        self._keys = {}
        # key -> ids of the views holding it; question -> ids answering yes.
        self._groups = {}
        self._answers = collections.OrderedDict()

    def __len__(self):
        """
        @return: how many live views are indexed.
        """
        return len(self._refs)

    def track(self, nodes):
        """
        Index the views of a decision not seen before.  Call it once per
        decision, with every view the decision may ask L{having} or
        L{answering} about.

        @param nodes: the views of this decision.
        """
        refs = self._refs
        for node in nodes:
            if id(node) not in refs:
                self._add(node)

    def _add(self, node):
        # Work out everything first: if keys_of or ask fails, nothing of
        # this view is recorded.
        keys = frozenset(self._keys_of(node)) if self._keys_of is not None else _EMPTY
        ask = self._ask
        yes = [question for question in self._answers if ask(node, question)]
        key = id(node)
        self._refs[key] = weakref.ref(
            node, lambda _, key=key: self._forget(key)  # type: ignore[misc]
        )
        for question in yes:
            self._answers[question].add(key)
        if keys:
            self._keys[key] = keys
            groups = self._groups
            for held in keys:
                ids = groups.get(held)
                if ids is None:
                    groups[held] = {key}
                else:
                    ids.add(key)

    def _forget(self, key):
        if self._refs.pop(key, None) is None:
            return
        for ids in self._answers.values():
            ids.discard(key)
        groups = self._groups
        for held in self._keys.pop(key, ()):
            ids = groups.get(held)
            if ids is not None:
                ids.discard(key)
                if not ids:
                    del groups[held]

    def having(self, key):
        """
        The views holding a key.

        @param key: a key L{keys_of} may return.
        @return: a set of C{id()}s of views holding C{key}: test the
            tracked views of this decision against it (it may name other
            live views too).  Do not change it or keep it beyond the
            decision.
        """
        return self._groups.get(key, _EMPTY)

    def answering(self, question):
        """
        The views answering yes to a question.

        A question not asked recently is put to every live view seen (as a
        filter without an index would); afterwards only new views are
        asked.

        @param question: a hashable question for L{ask}.
        @return: a set of C{id()}s of views answering yes, as L{having}.
        """
        answers = self._answers
        ids = answers.get(question)
        if ids is not None:
            answers.move_to_end(question)
            return ids
        ask = self._ask
        ids = set()
        # A copy: a view dying meanwhile changes the dict.
        for key, ref in list(self._refs.items()):
            node = ref()
            if node is not None and ask(node, question):
                ids.add(key)
        answers[question] = ids
        while len(answers) > self.questions:
            answers.popitem(last=False)
        return ids
