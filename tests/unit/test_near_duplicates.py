"""Near-duplicates: templated re-posts share a cluster id, unrelated ads do not."""

from pipelines.near_duplicates import ad_minhash, cluster_id, content_hash, signature_values, similarity

TEMPLATE = (
    "Hi gentlemen, I am {name}, a sweet and sexy companion who loves to spend time with generous men. "
    "I offer a relaxing and unrushed experience in a clean and private place near the station. "
    "Incall and outcall available day and night, serious callers only, no blocked numbers. "
    "Rates: {rate} per hour. Call me now on {phone} and make an appointment with me, kisses {name}"
)
OTHER = (
    "Warehouse staff wanted for a logistics company near Rotterdam. Shifts in the morning and "
    "evening, forklift certificate is an advantage, contract through a registered agency with "
    "weekly payment and holiday allowance according to the collective agreement."
)


def test_templated_ads_share_a_cluster_id():
    a = TEMPLATE.format(name="Anna", rate="150", phone="06 12345678")
    b = TEMPLATE.format(name="Bella", rate="200", phone="06 87654321")
    sig_a, sig_b = ad_minhash("Anna 22 Amsterdam", a), ad_minhash("NEW Bella in Utrecht", b)
    assert cluster_id(sig_a) == cluster_id(sig_b)
    assert similarity(signature_values(sig_a), signature_values(sig_b)) > 0.7


def test_reposted_ad_has_same_signature_and_cluster():
    a = TEMPLATE.format(name="Anna", rate="150", phone="06 12345678")
    assert signature_values(ad_minhash("x", a)) == signature_values(ad_minhash("y", a))
    assert cluster_id(ad_minhash("x", a)) == cluster_id(ad_minhash("y", a))


def test_unrelated_ads_differ():
    a = ad_minhash("", TEMPLATE.format(name="Anna", rate="150", phone="06 12345678"))
    b = ad_minhash("", OTHER)
    assert cluster_id(a) != cluster_id(b)
    assert similarity(signature_values(a), signature_values(b)) < 0.2


def test_signature_is_deterministic_ints():
    values = signature_values(ad_minhash("", OTHER))
    assert len(values) == 128 and all(isinstance(v, int) for v in values)
    assert values == signature_values(ad_minhash("", OTHER))


def test_too_short_text_uses_title_or_has_no_cluster():
    assert cluster_id(ad_minhash("", "hi")) is None
    assert cluster_id(ad_minhash("a long enough title for an ad", "hi")) is not None


def test_content_hash_ignores_case_and_spacing_but_not_words():
    assert content_hash("Title", "Some  text\nhere") == content_hash("title", "some text here")
    assert content_hash("Title", "some text here") != content_hash("Title", "other text here")


def test_signature_is_datasketch_minhash_of_the_shingles_with_its_default_hash():
    """Signatures stored by earlier versions stay comparable: the hashing done in place of
    datasketch's per-shingle hash function gives the very same values."""
    from datasketch import MinHash

    from pipelines.near_duplicates import NUM_PERM, SCHEME, SEED, shingles

    text = "Sweet young girl new in town, call me for a good time, incall and outcall, no rush"
    reference = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    reference.update_batch([s.encode("utf-8") for s in shingles(text)])
    assert signature_values(ad_minhash("", text)) == [int(v) for v in reference.hashvalues]
