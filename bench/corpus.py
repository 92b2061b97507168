"""A deterministic generator of seed-shaped Hexo archives, for benchmarks.

Each post looks like the posts feed scrapers write: a leading blank line,
YAML front matter with a single-quoted title, a three-level category list,
author, comments: false, an RFC 2822 date, headimg and thumbnail URLs, then
an HTML <div> body of Chinese paragraphs with <img referrerpolicy="no-referrer">.
Post i depends only on (seed, i), so the first 1,000 posts of a 10,000-post
archive are the 1,000-post archive.

    python bench/corpus.py --posts 10000 --out /tmp/archive
"""
from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

WORDS = ("芯片 算力 数据 模型 市场 产业 企业 投资 技术 平台 生态 用户 能源 电池 汽车 制造 网络 "
         "安全 云端 终端 标准 政策 研发 供应 需求 成本 价格 增长 创新 应用").split()
GLUE = ("推动 加速 实现 提升 布局 发布 面临 迎来 突破 构建").split()
TOPS = ("新媒体 科技 财经 汽车 健康 教育 文化 体育").split()
SOURCES = [f"{w}{s}" for w in ("智能", "数字", "前沿", "产业", "未来") for s in ("观察", "周刊", "在线", "资讯")]
SECTIONS = ("新闻 评论 深度 快讯 专题 访谈").split()
PEOPLE = ("张伟 王芳 李娜 刘洋 陈静 杨帆 赵磊 黄敏 周杰 吴婷").split()
CONFIG = """\
title: 资讯归档
author: 归档机器人
language: zh-CN
timezone: UTC
url: http://example.com
permalink: :year/:month/:day/:title/
per_page: 10
"""


def sentence(rng: random.Random) -> str:
    clauses = ["".join(rng.choice(WORDS) + rng.choice(GLUE) + rng.choice(WORDS)
                       for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(1, 3))]
    return "，".join(clauses) + "。"


def post(seed: int, i: int, image_host: str) -> str:
    rng = random.Random(f"sitegen-bench:{seed}:{i}")
    when = datetime(2019, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(6 * 525600))
    title = f"{rng.choice(WORDS)}{rng.choice(GLUE)}{rng.choice(WORDS)}，{rng.choice(WORDS)}新机遇{i}"
    source = rng.choice(SOURCES)
    author = source if rng.random() < 0.5 else rng.choice(PEOPLE)
    images = [f"{image_host}/img/{when:%Y%m}/{i:06d}-{k}.jpg" for k in range(rng.randint(1, 3))]
    paragraphs = []
    for n in range(rng.randint(20, 40)):
        if n % 12 == 0 and images[n // 12:]:
            paragraphs.append(f'<p style="text-align:center"><img src="{images[n // 12]}" '
                              f'alt="{rng.choice(WORDS)}" referrerpolicy="no-referrer"></p>')
        text = "".join(sentence(rng) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.1:
            text = f"<strong>{text}</strong>"
        paragraphs.append(f'<p style="text-indent: 2em; text-align: left;">{text}</p>')
    front = (
        f"\n---\ntitle: '{title}'\ncategories: \n - {rng.choice(TOPS)}\n - {source}\n"
        f" - {rng.choice(SECTIONS)}\nheadimg: '{images[0]}'\nauthor: {author}\n"
        f"comments: false\ndate: {format_datetime(when, usegmt=True)}\nthumbnail: '{images[0]}'\n---\n\n"
    )
    body = "<div>   \n" + "".join(paragraphs) + " \n  \n</div>\n"
    if i % 40 == 7:
        body += f"\n## 小结\n\n- {sentence(rng)}\n- {sentence(rng)}\n\n```python\nprint({i})\n```\n"
    return front + body


def make_archive(out: Path, posts: int, seed: int = 1, image_host: str = "https://img.example.com") -> Path:
    posts_dir = out / "source" / "_posts"
    posts_dir.mkdir(parents=True, exist_ok=True)
    (out / "_config.yml").write_text(CONFIG, encoding="utf-8")
    for i in range(posts):
        (posts_dir / f"post-{i:06d}.md").write_text(post(seed, i, image_host), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    make_archive(args.out, args.posts, args.seed)
    print(f"wrote {args.posts} posts to {args.out}")


if __name__ == "__main__":
    main()
