"""Hexo semantics: dates, slugs, categories, permalinks and tag plugins."""
