"""Finding image URLs in HTML and splicing local ones in, byte for byte."""
from __future__ import annotations

from pathlib import Path

from sitegen.images.discover import image_urls_in_tag, parse_srcset, scan, source_key
from sitegen.images.rewrite import Failed, LocalImage, rewrite_html

LOCAL = {
    "https://a.example/1.jpg": LocalImage("/images/aa/1-800.webp", 800, 600,
                                          "/images/aa/1-480.webp 480w, /images/aa/1-800.webp 800w",
                                          "/images/aa/1-480.webp", 480, 360),
    "https://a.example/2.png": LocalImage("/images/bb/2-300.webp", 300, 200,
                                          "/images/bb/2-300.webp 300w",
                                          "/images/bb/2-300.webp", 300, 200),
}
ADDED_1 = ('srcset="/images/aa/1-480.webp 480w, /images/aa/1-800.webp 800w" '
           'sizes="(max-width: 800px) 100vw, 800px" width="800" height="600" '
           'loading="lazy" decoding="async"')


def lookup(url: str):
    url = url.strip()
    if url in LOCAL:
        return LOCAL[url]
    if url.startswith("https://dead.example/"):
        return Failed("404")
    return None


def rewrite(html: str) -> str:
    return rewrite_html(html, scan(html), lookup)


def urls(html: str) -> list[str]:
    return [u for tag in scan(html) for u in image_urls_in_tag(tag)]


def test_every_image_attribute_is_found():
    html = """
    <img src="https://a.example/1.jpg" srcset="https://a.example/1.jpg 1x, https://a.example/2.png 2x">
    <img data-src='https://a.example/d.jpg' data-original=https://a.example/o.jpg>
    <picture><source srcset="https://a.example/s.webp" type="image/webp"><img src="x.png"></picture>
    <video poster="//a.example/p.jpg" src="movie.mp4"><source src="m.webm"></video>
    """
    assert urls(html) == [
        "https://a.example/1.jpg", "https://a.example/1.jpg", "https://a.example/2.png",
        "https://a.example/d.jpg", "https://a.example/o.jpg", "https://a.example/s.webp",
        "x.png", "//a.example/p.jpg"]


def test_comments_scripts_and_look_alikes_are_not_images():
    html = """<!-- <img src="https://c.example/comment.jpg"> -->
    <script>var s = '<img src="https://c.example/script.jpg">';</script>
    <style>/* <img src="https://c.example/style.jpg"> */</style>
    <textarea><img src="https://c.example/textarea.jpg"></textarea>
    <pre><code>&lt;img src="https://c.example/code.jpg"&gt;</code></pre>
    <div title='<img src="https://c.example/attr.jpg">'></div>
    <imgx src="https://c.example/imgx.jpg"> <IMG SRC="https://c.example/upper.jpg">"""
    assert urls(html) == ["https://c.example/upper.jpg"]


def test_entities_in_attribute_values_are_decoded():
    assert urls('<img src="https://a.example/i.jpg?a=1&amp;b=2">') == \
        ["https://a.example/i.jpg?a=1&b=2"]


def test_srcset_parsing_follows_the_browser_rules():
    value = "https://a.example/w_100,h_100/x.jpg 100w, https://a.example/y.jpg 2x,z.jpg,  q.jpg"
    assert [c.url for c in parse_srcset(value)] == [
        "https://a.example/w_100,h_100/x.jpg", "https://a.example/y.jpg", "z.jpg", "q.jpg"]
    for candidate in parse_srcset(value):
        assert value[candidate.start:candidate.end] == candidate.url


def test_only_url_attributes_change_and_every_other_byte_is_kept():
    html = ('<p class="intro">Some <em>text</em> &amp; an image:</p>\n'
            '<IMG\n  alt="A  photo"   SRC=\'https://a.example/1.jpg\' title=t data-x="1">\n'
            '<p>after</p>\n<!-- <img src="https://a.example/1.jpg"> -->')
    out = rewrite(html)
    assert out == html.replace("https://a.example/1.jpg'", "/images/aa/1-800.webp'", 1).replace(
        'data-x="1">', f'data-x="1" {ADDED_1}>', 1)


def test_existing_attributes_are_respected():
    html = ('<img src="https://a.example/1.jpg" width="50" loading="eager" '
            'srcset="https://a.example/1.jpg 1x, https://a.example/2.png 2x" />')
    assert rewrite(html) == (
        '<img src="/images/aa/1-800.webp" width="50" loading="eager" '
        'srcset="/images/aa/1-800.webp 1x, /images/bb/2-300.webp 2x" decoding="async" />')


def test_failed_image_keeps_its_url_and_gains_no_referrer():
    html = '<img src="https://dead.example/x.jpg" alt="x"><img src="https://dead.example/y.jpg" ' \
           'referrerpolicy="origin">'
    assert rewrite(html) == ('<img src="https://dead.example/x.jpg" alt="x" '
                             'referrerpolicy="no-referrer"><img src="https://dead.example/y.jpg" '
                             'referrerpolicy="origin">')


def test_failed_picture_source_puts_no_referrer_on_its_img():
    html = ('<picture><source srcset="https://dead.example/a.webp"><img src="https://a.example/2.png">'
            '</picture><img src="https://a.example/2.png">')
    out = rewrite(html)
    first, second = out.split("</picture>")
    assert 'referrerpolicy="no-referrer"' in first
    assert "referrerpolicy" not in second


def test_lazy_loading_placeholder_is_replaced_by_the_real_image():
    html = ('<img src="data:image/gif;base64,R0lGOD" data-src="https://a.example/2.png">'
            '<img data-original="https://a.example/2.png" class="lazy">')
    assert rewrite(html) == (
        '<img src="/images/bb/2-300.webp" data-src="/images/bb/2-300.webp" width="300" '
        'height="200" loading="lazy" decoding="async">'
        '<img data-original="/images/bb/2-300.webp" class="lazy" src="/images/bb/2-300.webp" '
        'width="300" height="200" loading="lazy" decoding="async">')


def test_video_poster_and_unquoted_values():
    html = '<video poster=https://a.example/2.png controls></video>'
    assert rewrite(html) == '<video poster=/images/bb/2-300.webp controls></video>'


def test_unhandled_urls_are_left_alone():
    html = ('<img src="/images/site.png"><img src="data:image/png;base64,xx">'
            '<img src="mailto:x"><img>')
    assert rewrite(html) == html


def test_unterminated_markup_does_not_crash():
    for html in ['<img src="https://a.example/1.jpg', "<img", "<!-- <img", "<script><img src=x>",
                 "<", "<img src=", "<img src='https://a.example/1.jpg' alt=\"x"]:
        assert isinstance(rewrite(html), str)


def test_source_keys(tmp_path):
    assert source_key("HTTPS://x.example/a.png", None) == ("remote", "HTTPS://x.example/a.png")
    assert source_key("//x.example/a.png", None) == ("remote", "//x.example/a.png")
    assert source_key("a/b%20c.png?v=1#f", tmp_path) == ("local", str(Path(tmp_path, "a/b c.png")))
    assert source_key("a.png", None) is None
    for other in ["/root.png", "data:image/png;base64,x", "#x", "", "file:///etc/passwd"]:
        assert source_key(other, tmp_path) is None


def test_links_to_a_shown_image_follow_it_and_other_links_stay():
    html = ('<a href="https://a.example/1.jpg" data-fancybox><img src="https://a.example/1.jpg"></a>'
            '<a href="https://a.example/page.html">page</a><a href="https://dead.example/x.jpg">x</a>')
    out = rewrite(html)
    assert out.startswith('<a href="/images/aa/1-800.webp" data-fancybox><img src="/images/aa/')
    assert out.endswith('<a href="https://a.example/page.html">page</a>'
                        '<a href="https://dead.example/x.jpg">x</a>')


def test_links_are_not_discovered_as_images():
    assert urls('<a href="https://a.example/1.jpg">x</a>') == []
