"""The diffusers generator's plumbing with a tiny randomly-initialised text-to-video
pipeline built here (never a real model): local loading, frames to a clip of the requested
shape, and refusal without network access when the weights are missing or partial."""

from __future__ import annotations

import io
import json
import shutil
import socket
import string
from dataclasses import replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from domain.generator import CameoReference, GeneratorNotConfiguredError, RenderRequest
from inference.generator_diffusers import DiffusersGenerator, stretch

pytestmark = pytest.mark.integration


def save_tiny_pipeline(folder: Path) -> Path:
    """A ModelScope-style TextToVideoSDPipeline with a few thousand random weights."""
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        TextToVideoSDPipeline,
        UNet3DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet3DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), cross_attention_dim=8,
        attention_head_dim=4, norm_num_groups=2)
    vae = AutoencoderKL(
        block_out_channels=(8, 8), in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
        sample_size=32, norm_num_groups=2)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012,
                              beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False)
    letters = list(string.ascii_lowercase)
    tokens = ["<|startoftext|>", "!", "<|endoftext|>", *letters, *(c + "</w>" for c in letters)]
    (folder / "vocab").mkdir(parents=True)
    vocab, merges = folder / "vocab/vocab.json", folder / "vocab/merges.txt"
    vocab.write_text(json.dumps({token: i for i, token in enumerate(tokens)}))
    merges.write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(vocab), str(merges), model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, pad_token_id=1, eos_token_id=2, vocab_size=len(tokens),
        hidden_size=8, intermediate_size=16, num_attention_heads=2, num_hidden_layers=2,
        projection_dim=8, max_position_embeddings=77))
    pipeline = TextToVideoSDPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
                                     unet=unet, scheduler=scheduler)
    target = folder / "tiny-t2v"
    pipeline.save_pretrained(target)  # type: ignore[attr-defined]
    return target


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_pipeline(tmp_path_factory.mktemp("diffusers"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to open a connection is recorded and refused."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        attempts.append(args)
        raise OSError("network access attempted in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def broken_copy(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    return destination


def test_the_tiny_pipeline_renders_a_clip_of_the_requested_shape(
        tiny_pipeline: Path, no_network: list[Any]):
    generator = DiffusersGenerator(tiny_pipeline, num_frames=4, steps=2, device="cpu")
    clip = generator.render(RenderRequest(generation_id="g", prompt="a cat on a beach",
                                          seconds=1.0, width=64, height=64, fps=12, seed=3))
    with av.open(io.BytesIO(clip.mp4), mode="r") as container:
        stream = container.streams.video[0]
        codec, pix_fmt = stream.codec_context.name, stream.codec_context.pix_fmt
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]

    assert (codec, pix_fmt, len(frames), frames[0].shape) == ("h264", "yuv420p", 12, (64, 64, 3))
    assert (clip.frames, clip.seconds, clip.width, clip.height) == (12, 1.0, 64, 64)
    assert clip.generator == "diffusers:TextToVideoSDPipeline:tiny-t2v"
    assert generator.device == "cpu" and no_network == []


def test_cameos_are_composited_into_the_model_frames(tiny_pipeline: Path):
    import cv2

    generator = DiffusersGenerator(tiny_pipeline, num_frames=2, steps=1, device="cpu")
    blue_bgr = np.zeros((100, 80, 3), np.uint8)
    blue_bgr[:, :, 0] = 255  # a pure blue "portrait" (OpenCV writes BGR): easy to find
    ok, png = cv2.imencode(".png", blue_bgr)
    assert ok
    base = RenderRequest(generation_id="g", prompt="a cat", seconds=0.5, width=64, height=64,
                         fps=8, seed=1)
    cameo = CameoReference(owner_id="o", handle="blue", face_png=png.tobytes())
    plain = generator.render(base)
    with_cameo = generator.render(replace(base, cameos=(cameo,)))

    def centre(mp4: bytes) -> np.ndarray:
        with av.open(io.BytesIO(mp4), mode="r") as container:
            frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
        return frame[28:36, 28:36].reshape(-1, 3).mean(axis=0)

    blue = centre(with_cameo.mp4)
    assert blue[2] > 200 and blue[0] < 60
    assert not np.allclose(centre(plain.mp4), blue, atol=30)


def test_a_missing_directory_is_refused_before_anything_loads(tmp_path: Path,
                                                              no_network: list[Any]):
    with pytest.raises(GeneratorNotConfiguredError, match="does not exist"):
        DiffusersGenerator(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GeneratorNotConfiguredError, match=r"model_index\.json"):
        DiffusersGenerator(tmp_path / "empty")
    assert no_network == []


def test_a_partial_download_is_refused_without_network(
        tiny_pipeline: Path, tmp_path: Path, no_network: list[Any]):
    no_unet = broken_copy(tiny_pipeline, tmp_path / "no-unet")
    shutil.rmtree(no_unet / "unet")
    no_weights = broken_copy(tiny_pipeline, tmp_path / "no-weights")
    (no_weights / "vae/diffusion_pytorch_model.safetensors").unlink()
    truncated = broken_copy(tiny_pipeline, tmp_path / "truncated")
    weights = truncated / "unet/diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])

    with pytest.raises(GeneratorNotConfiguredError, match="unet/ is missing"):
        DiffusersGenerator(no_unet)
    with pytest.raises(GeneratorNotConfiguredError, match="vae/ has a config but no weights"):
        DiffusersGenerator(no_weights)
    with pytest.raises(GeneratorNotConfiguredError, match="does not load"):
        DiffusersGenerator(truncated)
    assert no_network == []


def test_model_frames_are_spread_over_the_clip_and_cross_faded():
    made = np.stack([np.full((2, 2, 3), value, np.uint8) for value in (0, 90, 180)])
    assert [int(f[0, 0, 0]) for f in stretch(made, 5)] == [0, 45, 90, 135, 180]
    assert [int(f[0, 0, 0]) for f in stretch(made, 2)] == [0, 180]
    assert [int(f[0, 0, 0]) for f in stretch(made[:1], 3)] == [0, 0, 0]
