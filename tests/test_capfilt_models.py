"""The Beam-free CapFilt layer with tiny random models of the real classes on real photographs:
the engine's parts equal transformers' own paths, captions do not depend on the batch, the
decisions follow the stored scores exactly."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_models import CAPFILT_PHOTOS, save_tiny_capfilt_models

from webweave.filters.capfilt.attention import SdpaBlipAttention, use_sdpa
from webweave.filters.capfilt.config import CapFiltConfig
from webweave.filters.capfilt.decisions import Thresholds, apply_decisions
from webweave.filters.capfilt.engine import CapFilt, PairFailure, PairInput, PairScores
from webweave.filters.capfilt.images import blip_array, decode_rgb, pixel_values
from webweave.filters.capfilt.models import ModelUnavailable, load_blip, resolve_hf_folder
from webweave.filters.capfilt.sampling import RowSampler, row_uniforms, sampling_processors
from webweave.filters.capfilt.web_text import web_text
from webweave.pipelines.config import load_section

from conftest import fixture_path

PHOTOS = [*CAPFILT_PHOTOS, "skimage/motorcycle_left.png"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    return save_tiny_capfilt_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="module")
def photos() -> list[bytes]:
    return [fixture_path(f"images/{p}").read_bytes() for p in PHOTOS]


def config_for(models: dict, mode: str = "blip", k: int = 2) -> CapFiltConfig:
    config = load_section(CapFiltConfig)
    return config.replace(
        mode=mode,
        device="cpu",
        blip={"captioner": models["captioner"], "filter": models["filter"],
              "captions_per_image": k},
        blip2={"captioner": models["captioner"], "ranker": models["ranker"],
               "captions_per_image": k},
    )  # fmt: skip


def items(photos: list[bytes]) -> list[PairInput]:
    texts = ["a man with a dog", None, "a cat on a table", "the old clock", None,
             "a red car in the street", "flower", "rocket", "a person"]  # fmt: skip
    return [PairInput(f"pair-{i}", data, texts[i]) for i, data in enumerate(photos)]


# ---------------------------------------------------------------- the engine's parts


def test_sdpa_attention_equals_eager(models, photos):
    model, processor, _ = load_blip(models["captioner"], "captioner")
    pixels = processor.image_processor(
        images=[Image.open(io.BytesIO(p)).convert("RGB") for p in photos[:4]], return_tensors="pt"
    ).pixel_values
    with torch.inference_mode():
        eager = model.vision_model(pixel_values=pixels).last_hidden_state
        assert use_sdpa(model.vision_model) == model.config.vision_config.num_hidden_layers
        assert isinstance(model.vision_model.encoder.layers[0].self_attn, SdpaBlipAttention)
        sdpa = model.vision_model(pixel_values=pixels).last_hidden_state
    torch.testing.assert_close(sdpa, eager, rtol=1e-5, atol=1e-5)
    assert not torch.equal(eager, torch.zeros_like(eager))


def test_shared_vision_pass_itm_equals_the_full_forward(models, photos):
    engine = CapFilt.from_config(config_for(models).replace(attention="eager"))
    itm = engine.itm_filter
    arrays = [blip_array(decode_rgb(p, 1 << 30, 1 << 30), *itm.image_size) for p in photos[:3]]
    pixels = pixel_values(arrays, itm.mean, itm.std, torch.device("cpu"), torch.float32)
    texts = ["a man with a dog", "a cat", "the old clock on a table", "two people", "photo"]
    index = [0, 0, 1, 2, 2]
    with torch.inference_mode():
        shared = itm.match_probability(itm.image_embeds(pixels), index, texts)
        tokens = itm.tokens(texts, pixels.device)
        full = itm.model(pixel_values=pixels[index], **tokens, use_itm_head=True).itm_score
    expected = torch.softmax(full, dim=1)[:, 1].tolist()
    assert shared == pytest.approx(expected, abs=1e-6)
    assert len({round(s, 3) for s in shared}) > 1  # scores really differ between texts


def test_itm_first_token_enc_puts_enc_where_blip_retrieval_did(models, photos):
    cls = CapFilt.from_config(config_for(models)).itm_filter
    enc = CapFilt.from_config(config_for(models).replace(itm_first_token="enc")).itm_filter
    texts = ["a man with a dog", "the old clock"]
    tokens = {"cls": cls.tokens(texts, torch.device("cpu")), "enc": enc.tokens(texts, "cpu")}
    enc_id = enc.tokenizer.convert_tokens_to_ids("[ENC]")
    assert tokens["enc"]["input_ids"][:, 0].tolist() == [enc_id, enc_id]
    assert tokens["cls"]["input_ids"][:, 0].tolist() == [enc.tokenizer.cls_token_id] * 2
    assert torch.equal(tokens["enc"]["input_ids"][:, 1:], tokens["cls"]["input_ids"][:, 1:])
    arrays = [blip_array(decode_rgb(photos[0], 1 << 30, 1 << 30), *cls.image_size)]
    pixels = pixel_values(arrays, cls.mean, cls.std, torch.device("cpu"), torch.float32)
    with torch.inference_mode():
        scores = [f.match_probability(f.image_embeds(pixels), [0, 0], texts) for f in (cls, enc)]
    assert scores[0] != scores[1]


def test_preprocessing_equals_transformers_pil_processor(models, photos):
    from transformers.models.blip.image_processing_pil_blip import BlipImageProcessorPil

    reference = BlipImageProcessorPil(size={"height": 32, "width": 32})
    images = [decode_rgb(p, 1 << 30, 1 << 30) for p in photos[:3]]
    expected = reference(images=images, return_tensors="pt").pixel_values
    ours = pixel_values(
        [blip_array(i, 32, 32) for i in images],
        reference.image_mean,
        reference.image_std,
        torch.device("cpu"),
        torch.float32,
    )
    torch.testing.assert_close(ours, expected.float(), rtol=0, atol=1e-5)


def test_sampling_processors_follow_transformers_order(models):
    """transformers' sampling mode = [penalty, min length, top-k, top-p]; ours appends the row
    sampler after the same list built in greedy mode (sampling.py explains why)."""
    from transformers import GenerationConfig

    model, _, _ = load_blip(models["captioner"], "captioner")
    decoder = model.text_decoder
    settings = {"repetition_penalty": 1.1, "min_length": 10, "max_length": 30,
                "eos_token_id": 3, "pad_token_id": 0, "top_k": 50, "top_p": 0.9}  # fmt: skip

    def processors(do_sample: bool, custom) -> list:
        kept = settings if do_sample else {k: v for k, v in settings.items()
                                           if k not in ("top_k", "top_p")}  # fmt: skip
        generation_config = GenerationConfig(do_sample=do_sample, **kept)
        decoder._prepare_special_tokens(generation_config, True, "cpu")
        return decoder._get_logits_processor(
            generation_config, input_ids_seq_length=4, logits_processor=custom
        )

    sampling = processors(True, [])
    uniforms = row_uniforms(0, [("p", 0)], 30)
    ours = processors(False, sampling_processors(50, 0.9, uniforms, 4))
    names = [type(p).__name__ for p in ours]
    assert names == [type(p).__name__ for p in sampling] + ["RowSampler"]
    assert names == ["RepetitionPenaltyLogitsProcessor", "MinLengthLogitsProcessor",
                     "TopKLogitsWarper", "TopPLogitsWarper", "RowSampler"]  # fmt: skip


def test_row_sampler_draws_only_nucleus_tokens_in_proportion():
    scores = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    warped = sampling_processors(0, 0.9, torch.zeros(1, 1), 0)[0](None, scores.clone())
    allowed = torch.isfinite(warped[0]).nonzero().flatten().tolist()
    assert allowed == [0, 1, 2]  # top-p 0.9 removes the 5% tail
    counts = [0, 0, 0, 0]
    n = 4000
    uniforms = row_uniforms(7, [(f"p{i}", 0) for i in range(n)], 1)
    chosen = RowSampler(uniforms, 0)(torch.zeros(n, 0, dtype=torch.long), warped.repeat(n, 1))
    for token in chosen.argmax(dim=1).tolist():
        counts[token] += 1
    assert counts[3] == 0
    # renormalised nucleus: 0.5/0.95, 0.3/0.95, 0.15/0.95; 4000 draws, within 4 sigma
    for token, p in enumerate([0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95]):
        assert abs(counts[token] / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_captioner_path_equals_transformers_generate_when_greedy(models, photos):
    """The engine calls the text decoder itself (vision pass shared, K rows per image); in
    greedy mode that path gives exactly BlipForConditionalGeneration.generate's tokens."""
    from transformers import LogitsProcessorList

    engine = CapFilt.from_config(config_for(models, k=1).replace(attention="eager"))
    c = engine.captioner
    arrays = [blip_array(decode_rgb(p, 1 << 30, 1 << 30), *c.image_size) for p in photos[:3]]
    pixels = pixel_values(arrays, c.mean, c.std, torch.device("cpu"), torch.float32)
    settings = {"max_length": 30, "min_length": 10, "repetition_penalty": 1.1}
    with torch.inference_mode():
        ours = c._generate(pixels, LogitsProcessorList())
        prompt = c.tokenizer([c.decoding.prompt] * 3, return_tensors="pt")
        theirs = c.model.generate(
            pixel_values=pixels, input_ids=prompt.input_ids,
            attention_mask=prompt.attention_mask, do_sample=False, **settings,
        )  # fmt: skip
    assert torch.equal(ours, theirs)


# ---------------------------------------------------------------- the engine


@pytest.mark.parametrize("mode", ["blip", "blip2"])
def test_batch_1_equals_batch_8_byte_for_byte(models, photos, mode):
    config = config_for(models, mode=mode, k=3)
    one = list(CapFilt.from_config(config.replace(cpu_batch_size=1)).run(items(photos)))
    eight = list(CapFilt.from_config(config.replace(cpu_batch_size=8)).run(items(photos)))
    assert one == eight
    scored = [r for r in one if isinstance(r, PairScores)]
    assert len(scored) == len(photos)
    assert all(len(r.captions) == 3 and all(r.captions) for r in scored)
    assert len({c for r in scored for c in r.captions}) == 3 * len(photos)  # own generators
    if mode == "blip":
        assert all(s is not None for r in scored for s in r.caption_itm)
        assert all(s is None for r in scored for s in r.caption_rank)
    else:
        assert all(s is not None for r in scored for s in r.caption_rank)
        assert all(s is None for r in scored for s in r.caption_itm)


def test_a_caption_depends_on_pair_id_and_seed_not_on_neighbours(models, photos):
    config = config_for(models, k=1)
    engine = CapFilt.from_config(config)
    alone = list(engine.run([PairInput("x", photos[0], None)]))[0]
    among = list(engine.run([*items(photos[1:5]), PairInput("x", photos[0], None)]))[-1]
    renamed = list(engine.run([PairInput("y", photos[0], None)]))[0]
    reseeded_engine = CapFilt.from_config(config.replace(seed=1))
    reseeded = list(reseeded_engine.run([PairInput("x", photos[0], None)]))[0]
    assert alone.captions == among.captions
    assert renamed.captions != alone.captions and reseeded.captions != alone.captions


def test_broken_images_fail_alone_with_their_reason(models, photos):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 10, 10)).save(buffer, "PNG")
    png = buffer.getvalue()
    bad = [
        PairInput("truncated", photos[0][: len(photos[0]) // 2], "x"),
        PairInput("html", b"<html><body>not an image</body></html>", "x"),
        PairInput("ok", png, "a red picture"),
        PairInput("too_big", photos[1], "x"),
    ]
    config = config_for(models).replace(max_image_bytes=len(photos[1]) - 1)
    results = list(CapFilt.from_config(config).run(bad))
    reasons = {r.pair_id: (r.stage, r.error_type) for r in results if isinstance(r, PairFailure)}
    assert reasons == {
        "truncated": ("decode", "truncated_image"),
        "html": ("decode", "not_an_image"),
        "too_big": ("decode", "image_too_large"),
    }
    assert isinstance(results[2], PairScores) and results[2].pair_id == "ok"


def test_out_of_memory_batches_are_retried_in_halves(models, photos, monkeypatch):
    """A batch over 2 pairs 'runs out of memory': it is split until it fits, the results
    equal an unconstrained run, and a single pair that still fails is the only dead letter."""
    config = config_for(models).replace(cpu_batch_size=8)
    reference = list(CapFilt.from_config(config).run(items(photos)))
    engine = CapFilt.from_config(config)
    original = engine._score_batch

    def limited(batch):
        if len(batch) > 2 or any(p.item.pair_id == "pair-5" for p in batch):
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return original(batch)

    monkeypatch.setattr(engine, "_score_batch", limited)
    results = list(engine.run(items(photos)))
    assert [r.pair_id for r in results] == [r.pair_id for r in reference]
    failed = [r for r in results if isinstance(r, PairFailure)]
    assert [(f.pair_id, f.stage, f.error_type) for f in failed] == [
        ("pair-5", "models", "out_of_memory")
    ]
    assert [r for r in results if r.pair_id != "pair-5"] == [
        r for r in reference if r.pair_id != "pair-5"
    ]
    assert engine.batch_splits > 0


def test_provenance_names_models_hashes_versions_decoding_and_seed(models):
    import open_clip
    import transformers

    from webweave.filters.capfilt.models import weight_files, weights_sha256

    for mode in ("blip", "blip2"):
        provenance = CapFilt.from_config(config_for(models, mode=mode, k=2)).provenance()
        assert provenance["captioner"] == models["captioner"]
        sha = weights_sha256(weight_files(__import__("pathlib").Path(models["captioner"])))
        assert provenance["captioner_sha256"] == sha and len(sha) == 64
        assert provenance["transformers_version"] == transformers.__version__
        assert provenance["torch_version"] == torch.__version__
        assert provenance["decoding"] == {
            "prompt": "a picture of ", "top_k": 50, "top_p": 0.9, "repetition_penalty": 1.1,
            "max_length": 30, "min_length": 10, "captions_per_image": 2,
        }  # fmt: skip
        assert (provenance["seed"], provenance["device"], provenance["precision"]) == (
            0, "cpu", "fp32",
        )  # fmt: skip
        if mode == "blip":
            assert provenance["filter"] == models["filter"]
            assert len(provenance["filter_sha256"]) == 64 and provenance["ranker"] is None
        else:
            assert provenance["ranker"] == models["ranker"]
            assert provenance["open_clip_version"] == open_clip.__version__
            assert len(provenance["ranker_sha256"]) == 64 and provenance["filter"] is None


def test_a_missing_model_is_one_clear_line(tmp_path):
    with pytest.raises(ModelUnavailable) as raised:
        resolve_hf_folder(str(tmp_path / "no-such-model"), "filter")
    message = str(raised.value)
    assert "\n" not in message
    assert "filter model" in message and "is not a folder" in message and "--filter PATH" in message


# ---------------------------------------------------------------- decisions and web text


def _row(web: str | None, web_itm, web_rank, captions) -> dict:
    return {
        "web_text": web,
        "web_itm_score": web_itm,
        "web_rank_score": web_rank,
        "captions": [
            {"text": t, "itm_score": i, "rank_score": r, "kept": None} for t, i, r in captions
        ],  # fmt: skip
    }


def test_blip_decisions_follow_itm_scores_and_threshold_exactly():
    row = _row("web", 0.5, None, [("c0", 0.4999999, None), ("c1", 0.93, None)])
    decided = apply_decisions(row, Thresholds("blip", 0.5, 2))
    assert decided["web_kept"] is True  # p == threshold is kept (>=)
    assert [c["kept"] for c in decided["captions"]] == [False, True]
    assert (decided["kept_texts"], decided["kept_sources"]) == (["web", "c1"], ["web", "synthetic"])
    stricter = apply_decisions(row, Thresholds("blip", 0.95, 2))
    assert (stricter["web_kept"], stricter["kept_texts"]) == (False, [])
    no_web = apply_decisions(
        _row(None, None, None, [("c0", 0.7, None)]), Thresholds("blip", 0.5, 2)
    )
    assert (no_web["web_kept"], no_web["kept_texts"]) == (False, ["c0"])


def test_blip2_decisions_keep_the_top_ranked_texts_web_included():
    row = _row("web", None, 0.30, [("c0", None, 0.31), ("c1", None, 0.10), ("c2", None, 0.30)])
    top2 = apply_decisions(row, Thresholds("blip2", 0.5, 2))
    assert top2["kept_texts"] == ["c0", "web"]  # tie 0.30: the web text comes first
    assert top2["kept_sources"] == ["synthetic", "web"]
    assert [c["kept"] for c in top2["captions"]] == [True, False, False] and top2["web_kept"]
    top3 = apply_decisions(row, Thresholds("blip2", 0.5, 3))
    assert top3["kept_texts"] == ["c0", "web", "c2"]
    top1 = apply_decisions(row, Thresholds("blip2", 0.5, 1))
    assert (top1["kept_texts"], top1["web_kept"]) == (["c0"], False)


def test_web_text_falls_back_to_the_nearest_paragraph_and_says_which():
    sources = ("alt_text", "text_after", "text_before")
    assert web_text({"alt_text": " A dog. ", "text_after": "x"}, sources) == ("A dog.", "alt_text")
    assert web_text({"alt_text": "  ", "text_after": "Below.", "text_before": "Above."},
                    sources) == ("Below.", "text_after")  # fmt: skip
    assert web_text({"alt_text": None, "text_after": None, "text_before": "Above."},
                    sources) == ("Above.", "text_before")  # fmt: skip
    assert web_text({"alt_text": "", "text_after": "", "text_before": None}, sources) == (
        None, "none",
    )  # fmt: skip


def test_decode_limits_name_their_reason(photos):
    from webweave.filters.decision import StageError

    with pytest.raises(StageError) as raised:
        decode_rgb(photos[0], max_bytes=1 << 30, max_pixels=1000)
    assert raised.value.kind == "decompression_bomb"
    image = decode_rgb(photos[1], 1 << 30, 1 << 30)
    assert image.mode == "RGB"
    assert blip_array(image, 32, 48).shape == (32, 48, 3)
    assert blip_array(image, 32, 48).dtype == np.uint8


def test_config_section_ranges_are_checked():
    from webweave.schemas.config import ConfigError

    config = load_section(CapFiltConfig)
    assert (config.mode, config.itm_threshold, config.keep_top) == ("blip", 0.5, 2)
    assert config.blip.captions_per_image == 1 and config.blip2.captions_per_image == 10
    with pytest.raises(ConfigError, match="itm_threshold"):
        config.replace(itm_threshold=1.5)
    with pytest.raises(ConfigError, match="min_length"):
        config.replace(decoding={**config.decoding.to_dict(), "min_length": 40})
    with pytest.raises(ConfigError, match="mode"):
        config.replace(mode="blip3")
