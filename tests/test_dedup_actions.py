from webweave.filters.dedup_actions import is_empty, remove_images, remove_paragraphs
from webweave.filters.document import check_interleaving
from webweave.filters.minhash import paragraph_hash

META = {"alt_text": None, "width_attr": None, "height_attr": None, "original_src": "x"}


def row():
    return {
        "texts": ["Intro paragraph here.\n\nShare this on social media!", None, "Body text.", None],
        "images": [None, "http://a/logo.png", None, "http://a/photo.jpg"],
        "image_metadata": [None, META, None, META],
    }


def test_remove_images_removes_every_position_of_the_url():
    r = row()
    assert remove_images(r, {"http://a/logo.png"}) == 1
    assert r["images"] == [None, None, "http://a/photo.jpg"]
    check_interleaving(r["texts"], r["images"], r["image_metadata"])


def test_remove_paragraphs_keeps_the_rest_of_a_text_node():
    r = row()
    removed = remove_paragraphs(r, {paragraph_hash("Share this on social media!")})
    assert removed == 1
    assert r["texts"][0] == "Intro paragraph here."
    check_interleaving(r["texts"], r["images"], r["image_metadata"])


def test_a_text_node_left_empty_is_removed_and_alignment_kept():
    r = row()
    assert remove_paragraphs(r, {paragraph_hash("Body text.")}) == 1
    assert r["texts"] == ["Intro paragraph here.\n\nShare this on social media!", None, None]
    assert r["images"] == [None, "http://a/logo.png", "http://a/photo.jpg"]
    check_interleaving(r["texts"], r["images"], r["image_metadata"])


def test_paragraph_hash_ignores_case_and_punctuation():
    r = row()
    assert remove_paragraphs(r, {paragraph_hash("body TEXT")}) == 1


def test_empty_after_removing_everything():
    r = row()
    remove_images(r, {"http://a/logo.png", "http://a/photo.jpg"})
    remove_paragraphs(
        r,
        {
            paragraph_hash("Intro paragraph here."),
            paragraph_hash("Share this on social media!"),
            paragraph_hash("Body text."),
        },
    )
    assert is_empty(r)
