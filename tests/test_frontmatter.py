"""Front matter: the forms hexo-front-matter accepts, YAML rules, error lines."""
from __future__ import annotations

from pathlib import Path

import pytest

from sitegen.errors import SourceError
from sitegen.frontmatter import FrontMatter, parse_front_matter, read_source

SHARED = Path(__file__).resolve().parents[2] / "shared"


def parse(text: str) -> FrontMatter:
    return parse_front_matter(text, "_posts/p.md")


def error_of(text: str) -> SourceError:
    with pytest.raises(SourceError) as info:
        parse(text)
    return info.value


def test_yaml_between_separators():
    fm = parse("---\ntitle: Hello\ntags: [a, b]\n---\nBody line\nmore\n")
    assert fm.data == {"title": "Hello", "tags": ["a", "b"]}
    assert fm.body == "Body line\nmore\n"
    assert fm.body_line == 5


def test_yaml_without_opening_separator():
    fm = parse("title: Categories\ndate: 2013-12-24 23:30:09\n---\n\nText")
    assert fm.data == {"title": "Categories", "date": "2013-12-24 23:30:09"}
    assert fm.body == "\nText"
    assert fm.body_line == 4


def test_json_front_matter_both_forms():
    opened = parse(';;;\n"title": "J",\n"n": 2\n;;;\nbody')
    assert opened.data == {"title": "J", "n": 2}
    assert (opened.body, opened.body_line) == ("body", 5)
    bare = parse('"title": "J"\n;;;\nbody')
    assert bare.data == {"title": "J"}
    assert (bare.body, bare.body_line) == ("body", 3)


def test_leading_blank_line_as_in_the_seed():
    fm = parse("\n---\ntitle: x\n---\nbody")
    assert fm.data == {"title": "x"}
    assert (fm.body, fm.body_line) == ("body", 5)


@pytest.mark.skipif(not (SHARED / "seeds").is_dir(), reason="shared/ reference data absent")
def test_real_seed_post():
    seed = next((SHARED / "seeds").glob("*.txt"))
    fm = parse_front_matter(read_source(seed, seed.name), seed.name)
    assert fm.data["categories"] == ["新媒体", "高科技行业门户", "新闻"]
    assert fm.data["date"] == "Mon, 11 Oct 2021 07:53:00 GMT"
    assert fm.data["comments"] is False
    lines = seed.read_text(encoding="utf-8").split("\n")
    assert lines[fm.body_line - 2] == "---"  # the line before the body closes the block
    assert fm.body.split("\n")[1] == lines[fm.body_line]


def test_no_front_matter_keeps_whole_text():
    text = "# Title\n\nJust text.\n"
    assert parse(text) == FrontMatter({}, text, 1)


def test_markdown_rule_without_front_matter_is_body():
    # A paragraph followed by a `---` rule looks like the bare form; it is not a mapping.
    text = "Just a paragraph.\n\n---\n\nMore text."
    assert parse(text) == FrontMatter({}, text, 1)


def test_unclosed_opening_separator_is_body():
    text = "---\ntitle: x\nno closing line\n"
    assert parse(text) == FrontMatter({}, text, 1)


def test_empty_block_is_empty_mapping():
    assert parse("---\n---\nbody") == FrontMatter({}, "body", 3)
    assert parse("---\n\n---\nbody") == FrontMatter({}, "body", 4)


def test_crlf_line_endings():
    fm = parse("---\r\ntitle: x\r\n---\r\nbody\r\n")
    assert fm.data == {"title": "x"}
    assert (fm.body, fm.body_line) == ("body\r\n", 4)


def test_bom_is_ignored():
    assert parse("\ufeff---\ntitle: x\n---\nb").data == {"title": "x"}


def test_tabs_indenting_yaml_become_spaces():
    fm = parse("---\nauthor:\n\tname: Ann\n\tmail: a@b.c\n---\n")
    assert fm.data == {"author": {"name": "Ann", "mail": "a@b.c"}}


def test_yaml_12_scalars_like_hexo():
    fm = parse("---\na: yes\nb: off\nc: 010\nd: 0x1F\ne: 1e3\nf: ~\ng: true\nh: 1_000\n---\n")
    assert fm.data == {"a": "yes", "b": "off", "c": 10, "d": 31, "e": 1000.0,
                       "f": None, "g": True, "h": "1_000"}


def test_timestamps_stay_as_written():
    fm = parse("---\ndate: 2013-12-24 23:30:09\nupdated: 2021-01-01T12:00:00+02:00\n"
               "day: 2018-07-04\n---\n")
    assert fm.data == {"date": "2013-12-24 23:30:09", "updated": "2021-01-01T12:00:00+02:00",
                       "day": "2018-07-04"}


def test_keys_are_text():
    fm = parse("---\n1: one\ntrue: yes\nnested: {2: two}\n---\n")
    assert fm.data == {"1": "one", "true": "yes", "nested": {"2": "two"}}


def test_merge_keys_work():
    fm = parse("---\nbase: &b {x: 1, y: 1}\nm:\n  <<: *b\n  y: 2\n---\n")
    assert fm.data["m"] == {"x": 1, "y": 2}


def test_bad_yaml_reports_the_file_line():
    # YAML starts on file line 2; its third line is broken, so file line 4.
    err = error_of("---\ntitle: ok\ntags: [a, b\nbad: : :\n---\nbody")
    assert err.problem.path == "_posts/p.md"
    assert err.problem.line == 4
    assert "invalid YAML" in err.problem.message


def test_bad_yaml_line_counts_leading_blank_lines():
    err = error_of("\n\n---\ntitle: ok\n  bad indent: x\n---\n")
    assert err.problem.line == 5


def test_bad_yaml_in_bare_form():
    err = error_of("title: ok\nfoo: bar: baz\n---\nbody")
    assert err.problem.line == 2


def test_duplicate_key_is_an_error_at_its_line():
    err = error_of("---\ntitle: a\ndate: 2020-01-01\ntitle: b\n---\n")
    assert err.problem.line == 4
    assert "duplicated" in err.problem.message


def test_unsafe_tags_are_refused():
    err = error_of("---\nx: !!python/object/apply:os.system [ls]\n---\n")
    assert err.problem.line == 2


@pytest.mark.parametrize("text,kind,line", [
    ("---\n- a\n- b\n---\nbody", "a list", 2),
    ("---\njust a string\n---\nbody", "a single value", 2),
    ("\n---\n42\n---\nbody", "a single value", 3),
])
def test_non_mapping_front_matter_is_an_error(text, kind, line):
    err = error_of(text)
    assert kind in err.problem.message
    assert err.problem.line == line


def test_bad_json_reports_the_file_line():
    err = error_of(';;;\n"a": 1,\n"b": oops\n;;;\nbody')
    assert err.problem.line == 3
    assert "invalid JSON" in err.problem.message


def test_read_source_strips_bom(tmp_path):
    f = tmp_path / "a.md"
    f.write_bytes(b"\xef\xbb\xbf---\ntitle: x\n---\n")
    assert read_source(f, "a.md") == "---\ntitle: x\n---\n"


def test_read_source_reports_line_of_bad_byte(tmp_path):
    f = tmp_path / "bad.md"
    f.write_bytes(b"---\ntitle: ok\n---\nfine\ncaf\xe9 latin-1\n")
    with pytest.raises(SourceError) as info:
        read_source(f, "_posts/bad.md")
    problem = info.value.problem
    assert (problem.path, problem.line) == ("_posts/bad.md", 5)
    assert "not valid UTF-8" in problem.message
    assert "0xe9" in problem.message


def test_read_source_bad_byte_after_bom_counts_lines(tmp_path):
    f = tmp_path / "bad.md"
    f.write_bytes(b"\xef\xbb\xbfline1\n\xff\n")
    with pytest.raises(SourceError) as info:
        read_source(f, "bad.md")
    assert info.value.problem.line == 2


def test_read_source_missing_file(tmp_path):
    with pytest.raises(SourceError) as info:
        read_source(tmp_path / "nope.md", "nope.md")
    assert "cannot read" in info.value.problem.message


# --- the fast reader of simple front matter must agree with PyYAML ---------------------

_VALUES = [
    "plain", "'quoted'", "'it''s'", '"double"', '"back\\\\slash"', "a: b", "a #c", "C#", "x:",
    "http://a.b/c?d=1", "-1", "- a", "+3", "0x1F", "0o17", "0b101", "010", "1e3", ".5", ".inf",
    "-.INF", ".NaN", "1_000", "true", "False", "TRUE", "yes", "off", "~", "null", "Null", "",
    "[a, b]", "[]", "[ ]", "[a,]", "[1, true, ~]", "['a', b]", "[a: b]", "[a] x", "{a: 1}",
    "&anc v", "*ref", "!!str 1", "|", ">", "%x", "@x", "`x`", "?x", ":x", ",x", "中文标题",
    "Mon, 11 Oct 2021 07:53:00 GMT", "2013-12-24 23:30:09", "2018-07-04", "a\tb", "a\xa0",
    "\ufeffbom", "emoji 😀", "a ''b''", "'a' b", "'unclosed", "trailing   ", "<<", "= x",
    "a\\b", "'a: #b'", '"a: #b"', "x\x85y", "x\u2028y", "..", "...", "---",
]
_KEYS = ["title", "tags", "a_b", "a-b", "true", "null", "x1", "date", "Title"]


def _random_front_matter(rng) -> str:
    lines = []
    for _ in range(rng.randint(1, 6)):
        key = rng.choice(_KEYS)
        shape = rng.random()
        if shape < 0.6:
            lines.append(f"{key}: {rng.choice(_VALUES)}{rng.choice(['', ' ', '  '])}")
        elif shape < 0.9:
            lines.append(f"{key}:{rng.choice(['', ' '])}")
            indent = rng.choice(["", " ", "  "])
            for _ in range(rng.randint(0, 3)):
                lines.append(f"{rng.choice([indent, indent, ' ', '    '])}- {rng.choice(_VALUES)}")
        else:
            lines.append(rng.choice(["", "  ", "# comment", "  nested: 1", "-", "key:value",
                                     "k : v", "\tx: 1", "x: 1\r"]))
    return "\n".join(lines)


def test_simple_front_matter_reader_agrees_with_pyyaml():
    import random

    import yaml

    from sitegen.frontmatter import _Loader, _simple_yaml

    rng = random.Random(20240611)
    fast_count = 0
    for _ in range(20000):
        raw = _random_front_matter(rng)
        fast = _simple_yaml(raw)
        if fast is None:
            continue
        fast_count += 1
        # repr tells 1, 1.0 and True apart and compares NaN
        assert repr(fast) == repr(yaml.load(raw, Loader=_Loader)), raw
    assert fast_count > 1500  # the fast reader did take plenty of them


def test_seed_front_matter_takes_the_simple_reader():
    from sitegen.frontmatter import _simple_yaml

    raw = ("title: '资本纷纷涌入，AI芯片落地难'\ncategories: \n - 新媒体\n - 新闻\n"
           "author: 高科技行业门户\ncomments: false\ndate: Mon, 11 Oct 2021 07:53:00 GMT\n")
    assert _simple_yaml(raw) == {
        "title": "资本纷纷涌入，AI芯片落地难", "categories": ["新媒体", "新闻"],
        "author": "高科技行业门户", "comments": False, "date": "Mon, 11 Oct 2021 07:53:00 GMT"}


def test_opening_form_split_matches_the_lazy_regex_it_replaced():
    import random
    import re

    from sitegen.frontmatter import _split_opened

    opened = re.compile(r"(?:[ \t]*\r?\n)*(?P<sep>-{3,}|;{3,})[ \t]*\r?\n"
                        r"(?:(?P<data>.*?)\r?\n)??(?P=sep)\r?\n?", re.DOTALL)
    pieces = ["---", "----", ";;;", ";;;;", "\n", "\r\n", "\r", " ", "\t", "a: 1", "x", "-", ";"]
    rng = random.Random(3)
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        m = opened.match(text)
        want = (m["sep"], m.start("sep"), m["data"] or "", m.end()) if m else None
        assert _split_opened(text) == want, repr(text)
