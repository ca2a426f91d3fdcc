"""Pure ingest, no database: fetch feed bytes, parse them, normalise entries into Articles.

    async with Fetcher(settings.ingest, clock) as fetcher:
        result = await fetcher.fetch(source.url, source.etag, source.last_modified)  # FetchError
    if result.status == "ok":
        feed, articles = await parse_articles_async(                                  # FeedError
            result.body, url=result.url, headers=result.headers,
            source_id=source.id, source_name=source.title, fetched_at=clock.now(),
        )

Modules: fetch (HTTP), ssrf (URL vetting, pinned resolver; + addresses: which IPs are public),
parse (+ xmlfeed, fallback, jsonfeed, repair, feed), normalise (+ urls, language), identity (item keys,
Articles), discover (feed links in HTML), opml.
"""
