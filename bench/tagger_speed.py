"""Tagger pipeline speed: illudex's images/s against the inference-only limit and a loop.

Builds a ViT-B/16 at 448 px with 10861 sigmoid outputs (the WD v3 ViT shape: patch-embed
conv, 12 pre-norm transformer blocks of width 768 with 12 heads and MLP 3072, final
layernorm, mean pooling, Gemm + Sigmoid) with random weights straight from onnx.helper:
it costs what the real model costs to run. Then, in one run, interleaved, repeated:

  limit     session.run on ready-made input batches: inference only, the ceiling
  illudex   tag_images() on real files into a fresh catalog: decode workers + batches
  loop      one file at a time: open, reference preprocessing, run with batch 1
            (what the common tagger scripts do)

Run:  .venv/bin/python bench/tagger_speed.py [--images 16] [--repeats 3] [--batch N] [--sweep]
Files: generated art-like pictures (1-1.5 MP), or --pictures corpus: bench/.corpus PNGs.
The model and pictures are cached under .cache/bench/.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
SIZE, PATCH, WIDTH, DEPTH, HEADS, MLP, N_TAGS = 448, 16, 768, 12, 12, 3072, 10861
# Random logits have a std of about 0.55: this bias keeps a few dozen tags per picture over
# 0.35, as a trained tagger does, so storing them costs what it costs in real use.
HEAD_BIAS = -2.1


# --- the model ----------------------------------------------------------------------------


class _Graph:
    def __init__(self, seed: int = 0) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def weight(self, stem: str, shape: tuple[int, ...], std: float = 0.02, value=None) -> str:
        name = self.name(stem)
        if value is None:
            value = self.rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: object) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x: str, n_in: int, n_out: int) -> str:
        y = self.op("MatMul", [x, self.weight("w", (n_in, n_out))])
        return self.op("Add", [y, self.weight("b", (n_out,), value=np.zeros(n_out))])

    def layernorm(self, x: str) -> str:
        g = self.weight("ln_g", (WIDTH,), value=np.ones(WIDTH))
        b = self.weight("ln_b", (WIDTH,), value=np.zeros(WIDTH))
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=1e-6)

    def gelu(self, x: str) -> str:  # the erf form: ORT fuses it into one Gelu kernel
        half = self.const("half", np.array(0.5, np.float32))
        one = self.const("one", np.array(1.0, np.float32))
        inv_sqrt2 = self.const("inv_sqrt2", np.array(1 / np.sqrt(2), np.float32))
        erf = self.op("Erf", [self.op("Mul", [x, inv_sqrt2])])
        return self.op("Mul", [self.op("Mul", [x, half]), self.op("Add", [erf, one])])

    def attention(self, x: str) -> str:
        head = WIDTH // HEADS
        qkv = self.linear(x, WIDTH, 3 * WIDTH)
        qkv = self.op("Reshape", [qkv, self.const("s", np.array([0, 0, 3, HEADS, head]))])
        qkv = self.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, N, heads, T, head]
        split = [self.name("q"), self.name("k"), self.name("v")]
        self.nodes.append(helper.make_node("Split", [qkv], split, axis=0))
        axes0 = self.const("axes", np.array([0]))
        q, k, v = (self.op("Squeeze", [t, axes0]) for t in split)
        scale = self.const("scale", np.array(head**-0.5, np.float32))
        scores = self.op("MatMul", [self.op("Mul", [q, scale]),
                                    self.op("Transpose", [k], perm=[0, 1, 3, 2])])
        ctx = self.op("MatMul", [self.op("Softmax", [scores], axis=-1), v])
        ctx = self.op("Transpose", [ctx], perm=[0, 2, 1, 3])
        ctx = self.op("Reshape", [ctx, self.const("s", np.array([0, 0, WIDTH]))])
        return self.linear(ctx, WIDTH, WIDTH)

    def block(self, x: str) -> str:
        x = self.op("Add", [x, self.attention(self.layernorm(x))])
        hidden = self.gelu(self.linear(self.layernorm(x), WIDTH, MLP))
        return self.op("Add", [x, self.linear(hidden, MLP, WIDTH)])


def build_vit(path: Path) -> None:
    g = _Graph()
    tokens = (SIZE // PATCH) ** 2
    x = g.op("Transpose", ["input"], perm=[0, 3, 1, 2])
    x = g.op("Div", [x, g.const("c255", np.array(255.0, np.float32))])
    x = g.op("Conv", [x, g.weight("patch_w", (WIDTH, 3, PATCH, PATCH)),
                      g.weight("patch_b", (WIDTH,))], kernel_shape=[PATCH, PATCH],
             strides=[PATCH, PATCH])
    x = g.op("Reshape", [x, g.const("s", np.array([0, WIDTH, tokens]))])
    x = g.op("Transpose", [x], perm=[0, 2, 1])
    x = g.op("Add", [x, g.weight("pos", (1, tokens, WIDTH))])
    for _ in range(DEPTH):
        x = g.block(x)
    pooled = g.op("ReduceMean", [g.layernorm(x)], axes=[1], keepdims=0)
    logits = g.op("Gemm", [pooled, g.weight("head_w", (WIDTH, N_TAGS)),
                           g.weight("head_b", (N_TAGS,), value=np.full(N_TAGS, HEAD_BIAS))])
    g.nodes.append(helper.make_node("Sigmoid", [logits], ["output"]))
    graph = helper.make_graph(
        g.nodes, "vit_b16_448_random", [helper.make_tensor_value_info(
            "input", TensorProto.FLOAT, ["batch", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", N_TAGS])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def model_folder() -> Path:
    folder = CACHE / "vit-b16-448-random-v2"
    if not (folder / "model.onnx").exists():
        print("building the ViT-B/16 448 px model (random weights) ...", flush=True)
        build_vit(folder / "model.onnx")
        rows = ["tag_id,name,category,count"]
        rows += [f"{i},rating_{i},9,1" for i in range(4)]
        rows += [f"{i},tag_{i},{4 if i % 10 == 0 else 0},1" for i in range(4, N_TAGS)]
        (folder / "selected_tags.csv").write_text("\n".join(rows) + "\n")
    return folder


# --- pictures ------------------------------------------------------------------------------


def pictures(n: int, source: str) -> list[Path]:
    """Generated illustrations (1-1.5 MP JPEG, PNG with alpha: what collections hold), or
    the openclipart PNGs of bench/.corpus (small: cheaper to decode)."""
    corpus = ROOT / "bench" / ".corpus"
    if source == "corpus":
        found = sorted(p for p in corpus.rglob("*.png"))[:n] if corpus.is_dir() else []
        if len(found) < n:
            raise SystemExit(f"bench/.corpus holds {len(found)} PNG files, {n} asked for")
        return found
    folder = CACHE / "pictures"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        png = i % 4 == 3  # a quarter PNG with alpha, the rest JPEG (as in most collections)
        path = folder / (f"{i:03d}.png" if png else f"{i:03d}.jpg")
        if not path.exists():
            _art(i, png).save(path, **({} if png else {"quality": 92}))
        out.append(path)
    return out


def _art(seed: int, alpha: bool) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = (1024, 1448) if seed % 2 else (1200, 900)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * rng.uniform(0.05, 0.2) + seed * 9) % 256,
                     (y * rng.uniform(0.05, 0.2)) % 256,
                     ((x + y) * 0.1) % 256], axis=-1).astype(np.uint8)
    image = Image.fromarray(base).convert("RGBA" if alpha else "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3)) + ((255,) if alpha else ())
        draw.ellipse((x0, y0, x0 + int(rng.integers(20, 300)), y0 + int(rng.integers(20, 300))),
                     fill=colour, outline=(0, 0, 0), width=3)
    if alpha:
        image.putalpha(Image.fromarray(((x % 400) < 380).astype(np.uint8) * 255))
    return image


# --- the three ways -----------------------------------------------------------------------


def limit(session: ort.InferenceSession, n: int, batch: int) -> float:
    """Images/s of session.run alone, on input prepared beforehand."""
    x = np.random.default_rng(0).uniform(0, 255, (batch, SIZE, SIZE, 3)).astype(np.float32)
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]
    runs = max(1, n // batch)
    started = time.perf_counter()
    for _ in range(runs):
        session.run(outputs, {name: x})
    return runs * batch / (time.perf_counter() - started)


def illudex(tagger: object, files: list[Path], batch: int) -> tuple[float, int]:
    from illudex.analysers.runner import tag_images
    from illudex.analysers.wd_tagger import TagOptions
    from illudex.catalog.db import connect

    with tempfile.TemporaryDirectory() as tmp:
        conn = connect(Path(tmp) / "bench.db")
        now = time.time()
        images = []
        for path in files:
            cur = conn.execute(
                "INSERT INTO images (path, size, mtime_ns, digest, added_at, scanned_at) "
                "VALUES (?, ?, 0, ?, ?, ?)", (str(path), path.stat().st_size, path.name, now, now))
            images.append((int(cur.lastrowid), str(path)))
        started = time.perf_counter()
        summary = tag_images(conn, images, tagger, options=TagOptions(batch_size=batch))
        seconds = time.perf_counter() - started
        kept = conn.execute("SELECT COUNT(*) FROM image_tags").fetchone()[0] / len(files)
        print(f"    (illudex kept {kept:.0f} tags per picture)", flush=True)
        conn.close()
    assert not summary.errors, summary.errors
    return summary.done / seconds, len(summary.errors)


def reference_prepare(path: Path) -> np.ndarray:
    image = Image.open(path).convert("RGBA")
    canvas = Image.new("RGBA", image.size, (255, 255, 255))
    canvas.alpha_composite(image)
    image = canvas.convert("RGB")
    side = max(image.size)
    padded = Image.new("RGB", (side, side), (255, 255, 255))
    padded.paste(image, ((side - image.size[0]) // 2, (side - image.size[1]) // 2))
    padded = padded.resize((SIZE, SIZE), Image.BICUBIC)
    return np.asarray(padded, dtype=np.float32)[None, :, :, ::-1]


def loop(session: ort.InferenceSession, files: list[Path]) -> float:
    name = session.get_inputs()[0].name
    started = time.perf_counter()
    for path in files:
        session.run(None, {name: np.ascontiguousarray(reference_prepare(path))})
    return len(files) / (time.perf_counter() - started)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the decode workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def sweep(model: Path, repeats: int) -> None:
    """Inference-only images/s per batch size, ORT threads spinning or not, interleaved:
    the evidence for the CPU default batch and for turning spinning off."""
    sessions = {}
    for spin in ("1", "0"):
        options = ort.SessionOptions()
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        sessions[spin] = ort.InferenceSession(str(model), options,
                                              providers=["CPUExecutionProvider"])
    points = [(b, spin) for b in (1, 4, 8) for spin in ("1", "0")]
    seen: dict[tuple[int, str], list[float]] = {p: [] for p in points}
    for _ in range(repeats):
        for b, spin in points:
            seen[(b, spin)].append(limit(sessions[spin], 8, b))
        print("  ".join(f"b{b} spin={s}: {v[-1]:.3f}" for (b, s), v in seen.items()), flush=True)
    print("median img/s: " + "  ".join(
        f"b{b} spin={s}: {statistics.median(v):.3f}" for (b, s), v in seen.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=0, help="0: illudex's default")
    parser.add_argument("--threads", type=int, default=0, help="ORT intra-op threads (0: ORT)")
    parser.add_argument("--workers", type=int, default=-1, help="decode workers (-1: illudex)")
    parser.add_argument("--pictures", choices=("generated", "corpus"), default="generated")
    parser.add_argument("--sweep", action="store_true", help="inference-only img/s per batch")
    args = parser.parse_args()

    os.environ.setdefault("ILLUDEX_CACHE_DIR", str(CACHE / "illudex-cache"))
    sys.path.insert(0, str(ROOT / "src"))
    from illudex.analysers import runner
    from illudex.analysers.wd_tagger import WDTagger

    folder = model_folder()
    files = pictures(args.images, args.pictures)
    threads = args.threads or None
    tagger = WDTagger.load(folder, device="cpu", threads=threads)
    if args.workers >= 0:
        runner._default_workers = lambda gpu: args.workers  # type: ignore[assignment]
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    args.batch = args.batch or tagger.default_batch
    plain = ort.InferenceSession(str(folder / "model.onnx"), options,
                                 providers=["CPUExecutionProvider"])  # as the scripts do
    print(f"{len(files)} files, batch {args.batch}, cores {os.cpu_count()}, "
          f"threads {threads or 'ORT default'}, onnxruntime {ort.__version__}", flush=True)
    limit(tagger.session, args.batch, args.batch)  # warm-up: first runs allocate
    loop(plain, files[:2])
    if args.sweep:
        sweep(folder / "model.onnx", args.repeats)
        return
    results: dict[str, list[float]] = {"limit": [], "illudex": [], "loop": []}
    cpu: dict[str, list[float]] = {k: [] for k in results}
    runs = {
        "limit": lambda: limit(tagger.session, len(files), args.batch),
        "illudex": lambda: illudex(tagger, files, args.batch)[0],
        "loop": lambda: loop(plain, files),
    }
    for r in range(args.repeats):
        for key, run in runs.items():
            before = _cpu_seconds()
            results[key].append(run())
            cpu[key].append((_cpu_seconds() - before) / len(files))
        print(f"repeat {r + 1}: " + ", ".join(
            f"{k} {v[-1]:.3f} img/s ({cpu[k][-1]:.2f} cpu-s/img)" for k, v in results.items()),
            flush=True)
    med = {k: statistics.median(v) for k, v in results.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    print("\nCPU seconds per image (all processes; less sensitive to other load than wall time): "
          + ", ".join(f"{k} {v:.2f}" for k, v in med_cpu.items())
          + f"; illudex spends {med_cpu['illudex'] / med_cpu['limit'] - 1:+.1%} over the limit")
    print(f"\nmedian of {args.repeats} (images/s):")
    print(f"  inference only (limit)  {med['limit']:7.2f}")
    print(f"  illudex tag_images      {med['illudex']:7.2f}   "
          f"{med['illudex'] / med['limit']:6.1%} of the limit")
    print(f"  one-by-one loop         {med['loop']:7.2f}   "
          f"{med['loop'] / med['limit']:6.1%} of the limit; illudex is "
          f"{med['illudex'] / med['loop']:.2f}x the loop")


if __name__ == "__main__":
    main()
