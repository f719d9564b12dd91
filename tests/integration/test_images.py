"""End to end on the real stack: a board whose ads carry images is crawled into Kafka, enriched,
and the image worker adds the OCR'd phones and photo links to the ads in Elasticsearch.

A canary image server on its own port stands for any image Vigil must never fetch: the images of
an escalated ad and of an ad crawled over Tor. It must see zero requests.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from http.server import BaseHTTPRequestHandler

import pytest
import yaml

from tests.conftest import vigil_executable
from tests.helpers import wait_for
from tests.image_samples import jpeg, phone_image, photo, png, transformed_copies, watermark
from tests.integration.test_crawl import run_json, write_profile
from vigil.app.local_http import LocalHTTPServer

pytestmark = pytest.mark.integration

PHOTO_A, PHOTO_B = photo(101), photo(202)
LOGO = png(watermark(photo(7, (90, 180)), "BOARD"))
IMAGES = {
    "/img/banner-1.png": phone_image("06-12 34 56 78", "Bel me", "DejaVuSans-Bold.ttf", 28,
                                     ((255, 255, 0), (200, 0, 90)), 5, 75),
    "/img/banner-2.jpg": phone_image("+49 151 1234 5678", "WhatsApp", "DejaVuSerif.ttf", 22,
                                     ((0, 0, 0), (255, 255, 255)), -4, 60),
    "/img/photo-a.jpg": jpeg(PHOTO_A, 90),
    "/img/photo-a-copy.jpg": dict(transformed_copies(PHOTO_A, 1))["watermarked, resized to 75%, q=60"],
    "/img/photo-b.jpg": jpeg(PHOTO_B, 90),
    "/img/logo.png": LOGO,
}  # fmt: skip
ESCALATED = "Sweet new girl, I am 16 years old. Call me tonight."


def ads(canary: str) -> dict[int, tuple[str, str, list[str]]]:
    """id -> (title, text, image URLs); ad 4 is escalated and its images live on the canary."""
    return {
        1: ("Nieuw in de stad", "Lieve dame, bel me.", ["/img/banner-1.png", "/img/photo-a.jpg", "/img/logo.png"]),
        2: ("Nieuwe foto's", "Alleen serieuze berichten.", ["/img/photo-a-copy.jpg", "/img/banner-2.jpg",
                                                             "/img/logo.png"]),
        3: ("Massage", "Ontspannende massage op afspraak.", ["/img/photo-b.jpg", "/img/logo.png"]),
        4: ("New girl", ESCALATED, [f"{canary}/img/escalated.jpg"]),
        5: ("Weekend", "Alleen dit weekend.", ["/img/logo.png"]),
    }  # fmt: skip


def board_handler(board: dict[int, tuple[str, str, list[str]]]):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            if self.path == "/":
                links = "".join(f'<li><a href="/ad/{n}">{t}</a></li>' for n, (t, _, _) in board.items())
                self._send("text/html", f"<html><body><ul>{links}</ul></body></html>".encode())
            elif self.path.startswith("/ad/") and int(self.path[4:]) in board:
                title, text, images = board[int(self.path[4:])]
                tags = "".join(f'<img src="{src}" alt="">' for src in images)
                page = f"<html><body><h1>{title}</h1><div class=description><p>{text}</p>{tags}</div></body></html>"
                self._send("text/html", page.encode())
            elif self.path in IMAGES:
                self._send("image/png" if self.path.endswith(".png") else "image/jpeg", IMAGES[self.path])
            elif self.path == "/robots.txt":
                self._send("text/plain", b"User-agent: *\nAllow: /\n")
            else:
                self.send_error(404)

        def _send(self, kind: str, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def canary_handler(hits: Counter):
    class Canary(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            hits[self.path] += 1
            body = IMAGES["/img/banner-1.png"]
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Canary


def tor_page(canary: str):
    """An ad as crawled over Tor (published as the Tor crawler would); its image is on the canary."""
    import hashlib

    from vigil.core.records import RawPage

    body = f'<html><body><h1>Onion ad</h1><p>Bel 0687654321</p><img src="{canary}/img/onion.jpg"></body></html>'
    url = "http://abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion/ad/9"
    return RawPage(
        profile_id="images-onion", network="tor", job_id="job-tor", url=url, canonical_url=url, final_url=url,
        status=200, content_type="text/html", page_type="ad", ad_id="9", country="NL", body=body,
        body_sha256=hashlib.sha256(body.encode()).hexdigest(), body_bytes=len(body),
    )  # fmt: skip


def _ads(es, alias: str) -> dict[str, dict]:
    es.indices.refresh(index=alias)
    return {h["_id"]: h["_source"] for h in es.search(index=alias, size=100, query={"match_all": {}})["hits"]["hits"]}


def _handled(log_path, ad_key: str) -> str | None:
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("event") == "ad handled" and entry.get("ad_key") == ad_key:
                return entry["outcome"]
    return None


def test_images_become_ocr_phones_and_photo_links_and_the_canary_sees_nothing(vigil_env, tmp_path):
    from vigil.core import kafka
    from vigil.core.elastic import client

    hits: Counter = Counter()
    canary = LocalHTTPServer(canary_handler(hits), name="canary").start()
    canary_url = f"http://127.0.0.1:{canary.port}"
    board = LocalHTTPServer(board_handler(ads(canary_url)), name="image-board").start()
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    images = {"ocr": True, "hashes": True, "max_per_ad": 3, "max_bytes": 2_000_000}
    profile = {
        "id": "images-board", "start_urls": [f"http://127.0.0.1:{board.port}/"], "country": "NL", "language": "nl",
        "ads": {"url_regex": r"/ad/\d+$", "id_regex": r"/ad/(\d+)$", "fields": {"title": {"css": "h1"},
                "body": {"css": ".description"}}},
        "allow_private_network": True, "images": images,
        "politeness": {"download_delay": 0, "concurrency": 4, "autothrottle": False},
    }  # fmt: skip
    write_profile(profiles, profile)
    # The onion ad's profile id resolves to a profile that would allow images: the worker must
    # still refuse, because the ad itself was crawled over Tor.
    write_profile(profiles, {**profile, "id": "images-onion"})
    config = yaml.safe_load(vigil_env.config_path.read_text())
    config.update(profiles_dir=str(profiles), images={"hub_min_ads": 3, "hub_min_sites": 4})
    vigil_env.config_path.write_text(yaml.safe_dump(config))

    settings = vigil_env.settings
    es = client(settings.es)
    workers: list[subprocess.Popen] = []
    logs = {name: tmp_path / f"{name}.log" for name in ("enrich", "images", "networks")}
    try:
        result, summary = run_json(vigil_env, profiles / "images-board.yaml", "--job-id", "job-images")
        assert result.returncode == 0 and summary["ads"] == 5, result.stderr[-3000:]
        producer = kafka.producer(settings.kafka)
        producer.send(settings.kafka.topics.pages_raw, key=b"onion", value=tor_page(canary_url).to_bytes())
        producer.flush(timeout=30)
        producer.close()
        for name in logs:
            workers.append(
                subprocess.Popen(
                    [vigil_executable(), "worker", name, "--group", f"{name}-{vigil_env.uid}"],
                    env=vigil_env.env, stdout=logs[name].open("wb"), stderr=subprocess.STDOUT,
                )  # fmt: skip
            )
        keys = [f"images-board:{n}" for n in (1, 2, 3, 5)]

        def done() -> bool:
            docs = _ads(es, settings.es.indices.ads)
            analysed = all(docs.get(k, {}).get("images") for k in keys)
            return analysed and all(_handled(logs["images"], k) for k in ("images-board:4", "images-onion:9"))

        assert wait_for(done, timeout=240, interval=2), "\n".join(
            f"--- {name}.log\n{path.read_text(errors='replace')[-3000:]}" for name, path in logs.items()
        )

        def networks() -> list[str | None]:
            found = _ads(es, settings.es.indices.ads)
            return [found[f"images-board:{n}"].get("network_id") for n in (1, 2, 3, 5)]

        # the photo link joins ads 1 and 2 into one network (docs/networks.md); the logo, a hub, joins nothing
        assert wait_for(lambda: networks()[0] is not None and networks()[0] == networks()[1], timeout=90), (
            networks(), logs["networks"].read_text()[-3000:]
        )
        assert len(set(networks())) == 3, networks()
    finally:
        for worker in workers:
            worker.terminate()
        codes = [worker.wait(timeout=60) for worker in workers]
        board.stop()
        canary.stop()
    assert codes == [0, 0, 0], logs["images"].read_text()[-3000:]

    assert sum(hits.values()) == 0, f"the canary was asked for {dict(hits)}"
    assert _handled(logs["images"], "images-board:4") == "skipped_escalated"
    assert _handled(logs["images"], "images-onion:9") == "skipped_tor"

    docs = _ads(es, settings.es.indices.ads)
    assert docs["images-board:4"]["escalate"] and not docs["images-board:4"]["images"]
    assert docs["images-onion:9"]["network"] == "tor" and not docs["images-onion:9"]["images"]
    one, two, three, five = (docs[k] for k in ("images-board:1", "images-board:2", "images-board:3", "images-board:5"))
    # OCR'd phones join the ad's phones, as image-sourced entities
    assert "+31612345678" in one["phones"] and "+4915112345678" in two["phones"], (one["ocr_text"], two["ocr_text"])
    assert {"type": "phone", "value": "+31612345678", "source": "image"}.items() <= next(
        e for e in one["entities"] if e["value"] == "+31612345678"
    ).items()
    # photo A and its watermarked, resized copy link ads 1 and 2; photo B links nothing
    def link(doc: dict, name: str) -> str | None:
        return next(i["link"] for i in doc["images"] if i["url"].endswith(name))

    shared = link(one, "/photo-a.jpg")
    assert shared and shared == link(two, "/photo-a-copy.jpg") and shared in one["image_hashes"]
    assert set(one["image_hashes"]) & set(two["image_hashes"]) == {shared}
    assert three["image_hashes"] == [link(three, "/photo-b.jpg")] and shared not in three["image_hashes"]
    # the logo is on four ads: a hub, linking none of them
    logo_hashes = {i["phash"] for d in (one, two, three, five) for i in d["images"] if i["url"].endswith("logo.png")}
    assert len(logo_hashes) == 1 and not five["image_hashes"]
    # ads that linked through the logo before it became a hub were unlinked
    assert not any(logo_hashes & set(d["image_hashes"]) for d in (one, two, three, five))
    entities = _ads(es, settings.es.indices.entities)
    photo_link = entities[f"image:{shared}"]
    assert sorted(photo_link["ad_keys"]) == ["images-board:1", "images-board:2"] and not photo_link["hub"]
    assert entities[f"image:{logo_hashes.pop()}"]["hub"] is True
    assert "images-board:1" in entities["phone:+31612345678"]["ad_keys"]
    assert "images-onion:9" in entities["phone:+31687654321"]["ad_keys"]  # text enrichment still ran
    # nothing but facts: no image bytes in the ad
    assert set(one["images"][0]) == {"url", "sha256", "phash", "link", "width", "height"}

    shown = vigil_env.run("entity", shared, "--type", "image", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["total_ads"] == 2


def test_an_ad_escalated_in_an_earlier_version_or_during_its_fetch_gets_no_image_request(vigil_env, tmp_path):
    """On the real Elasticsearch, without workers: the image handler refuses an ad whose current
    version is clean but an earlier one was escalated (vigil-ad-versions), and an ad escalated
    while its first image was being fetched gets no request for the next one, and nothing written."""
    from pipelines.image_worker import ImageHandler, Profiles
    from vigil.core.elastic import client
    from vigil.core.records import AdDocument, AdEvent, AdVersion, doc_id, version_id

    settings = vigil_env.settings
    indices = settings.es.indices
    es = client(settings.es)
    hits: Counter = Counter()
    canary = LocalHTTPServer(canary_handler(hits), name="canary").start()
    canary_url = f"http://127.0.0.1:{canary.port}"
    during = "images-board:during"

    class Board(board_handler({})):
        def do_GET(self):  # noqa: N802
            if self.path == "/img/photo-a.jpg":  # the enrich worker escalates the ad meanwhile
                es.update(index=indices.ads, id=doc_id(during), doc={"escalate": True}, refresh=True)
            super().do_GET()

    board = LocalHTTPServer(Board, name="image-board").start()
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    write_profile(profiles, {
        "id": "images-board", "start_urls": [f"http://127.0.0.1:{board.port}/"], "ads": {"url_regex": r"/ad/\d+$"},
        "allow_private_network": True, "images": {}, "politeness": {"download_delay": 0},
    })  # fmt: skip
    edited = "images-board:edited"
    ads = {
        edited: [f"{canary_url}/img/edited.jpg"],
        during: [f"http://127.0.0.1:{board.port}/img/photo-a.jpg", f"{canary_url}/img/during.jpg"],
    }
    try:
        for key, urls in ads.items():
            url = f"http://127.0.0.1:{board.port}/ad/{key}"
            ad = AdDocument(ad_key=key, profile_id="images-board", url=url, canonical_url=url, image_urls=urls)
            es.index(index=indices.ads, id=doc_id(key), document=ad.model_dump(mode="json"), refresh=True)
        # the edited ad's first version raised the flag; its current text does not
        first = AdVersion(ad_key=edited, profile_id="images-board", content_hash="v1", url="http://x", escalate=True)
        es.index(index=indices.ad_versions, id=version_id(edited, 1, "v1"), document=first.model_dump(mode="json"),
                 refresh=True)  # fmt: skip
        handler = ImageHandler(settings, es, Profiles(profiles, 30))
        outcomes = {
            key: handler.handle(AdEvent(event_type="ad.changed", ad_key=key, profile_id="images-board", url="http://x"))
            for key in ads
        }
    finally:
        board.stop()
        canary.stop()
    assert outcomes == {edited: "skipped_escalated", during: "skipped_escalated"}
    assert sum(hits.values()) == 0, f"the canary was asked for {dict(hits)}"
    stored = es.get(index=indices.ads, id=doc_id(during))["_source"]
    assert stored["escalate"] and not stored["images"] and not stored["ocr_text"]
