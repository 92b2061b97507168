"""A site's terms after a few posts changed their categories, tags or author in place.

assemble.site_terms walks every post (30 ms at 10k posts); after a regroup
(snapshot._regroup) only the terms those posts left or joined differ from the
saved ones. The result must equal site_terms' exactly, so wherever two terms
sort alike (the order they are met in would decide) this gives up and the
caller makes the terms anew.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sitegen.assemble import SlugBook, name_path, parent_slug
from sitegen.model import Post, Term

Terms = dict[str, Term]


def regrouped_terms(saved: Sequence[Terms], before: dict[int, tuple],
                    posts: list[Post], books: tuple[SlugBook, SlugBook, SlugBook]
                    ) -> dict[str, Terms] | None:
    """`saved`: the last build's categories, tags and authors; `before`: per regrouped
    post, its saved (categories, category_paths, tags, author). None where
    assemble.site_terms must decide."""
    categories, tags, authors = saved
    if ties(categories, by_path) or ties(tags) or ties(authors):
        return None
    cats = _members(categories, before, posts, lambda row: row[0], lambda p: p.categories)
    found = {
        "categories": _categories(categories, cats, books[0]),
        "tags": _flat(tags, _members(tags, before, posts, lambda row: row[2], lambda p: p.tags),
                      books[1], "tag"),
        "authors": _flat(authors, _members(authors, before, posts, lambda row: (row[3],),
                                           lambda p: (p.author,)), books[2], "author"),
    }
    return None if any(terms is None for terms in found.values()) else found


def by_path(term: Term):
    return term.path


def _by_name(term: Term):
    return term.name.lower()


def ties(terms: Terms, key: Callable[[Term], object] = _by_name) -> bool:
    """Whether two terms sort alike (assemble's order: categories by path, others by
    lower-case name), as "Go" and "go" do where slugs keep their case."""
    return len({key(t) for t in terms.values()}) != len(terms)


def _members(terms: Terms, before: dict[int, tuple], posts: list[Post],
             old: Callable[[tuple], Iterable[str]], new: Callable[[Post], Iterable[str]]
             ) -> dict[str, list[int]]:
    """Per slug a regrouped post was or is in, the indices of its posts, in order."""
    moved = before.keys()
    slugs = {s for i, row in before.items() for s in old(row) if s}
    slugs.update(s for i in moved for s in new(posts[i]) if s)
    members = {s: [i for i in terms[s].posts if i not in moved] if s in terms else []
               for s in slugs}
    for i in moved:
        for s in new(posts[i]):
            if s:
                members[s].append(i)
    for found in members.values():
        found.sort()
    return members


def _flat(terms: Terms, members: dict[str, list[int]], book: SlugBook, kind: str) -> Terms | None:
    made = dict(terms)
    for slug, found in members.items():
        if not found:
            made.pop(slug, None)
            continue
        names = book.names[slug]
        made[slug] = Term(kind=kind, name=names[0], path=(names[0],), slug=slug,
                          posts=tuple(found), aliases=tuple(names[1:]))
    return _sorted(terms, made, _by_name)


def _categories(terms: Terms, members: dict[str, list[int]], book: SlugBook) -> Terms | None:
    """Category slugs are paths ("a/b" is a child of "a"), so a category's children
    are the categories one level below it that have posts."""
    made = dict(terms)
    for slug, found in members.items():
        if found:
            made[slug] = None  # made below, once the children are known
        else:
            made.pop(slug, None)
    came = [s for s in members if s in made and s not in terms]
    went = [s for s in members if s in terms and s not in made]
    parents = {parent_slug(s) for s in came + went} - {None}
    children: dict[str, list[str]] = {}
    for slug in parents | set(came):
        if slug in made:
            old = terms[slug].children if slug in terms else ()
            kids = [c for c in old if c in made] + [c for c in came if parent_slug(c) == slug]
            kids.sort(key=lambda c: book.names[c][0])
            if len({book.names[c][0] for c in kids}) != len(kids):
                return None  # siblings named alike: the order they were met in decides
            children[slug] = kids
    paths: dict[str, tuple[str, ...]] = {}
    for slug in set(members) | children.keys():
        if slug not in made:
            continue
        old = terms.get(slug)
        names = book.names[slug]
        made[slug] = Term(
            kind="category", name=names[0], path=name_path(slug, book, paths), slug=slug,
            posts=tuple(members[slug]) if slug in members else old.posts,
            children=tuple(children[slug]) if slug in children else old.children,
            parent=parent_slug(slug), aliases=tuple(names[1:]))
    return _sorted(terms, made, by_path)


def _sorted(terms: Terms, made: Terms, key: Callable[[Term], object]) -> Terms | None:
    """`made` in site_terms' order; None where two of its terms sort alike."""
    if made.keys() == terms.keys() and all(key(made[s]) == key(terms[s]) for s in made):
        return made  # the same terms under the same keys: the saved order holds
    if ties(made, key):
        return None
    return dict(sorted(made.items(), key=lambda kv: key(kv[1])))
