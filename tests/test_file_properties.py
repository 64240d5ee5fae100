"""Property tests (Hypothesis) of the readers of the files a user hands over: any bytes as an image given to
predict, a ``.npy`` or ``.csv`` rows file, a model file of each kind (``logistic_sgd.py``'s, ``mlp.py``'s,
``dA.py``'s, ``SdA.py``'s) and an estimator file (``DenoisingAutoencoder.save``, ``SdAClassifier.save``).

Each file is either accepted, and then what it gives (predictions, class probabilities, codes) is finite,
or refused with one error of the library's own types (a :class:`~autoencoders_tutorial.errors.TutorialError`)
whose message is one line naming the file: never another exception, a warning, a hang, or a NaN prediction.

Random bytes rarely get past a magic number, so most examples are valid files changed a little: images
Pillow writes in every mode and many sizes, then damaged byte by byte; a real ``.npy``, model or estimator
file with bytes flipped, cut or inserted, one array rewritten in the zip with its CRC right (so the reader
gets past the container), or replaced by an array of any dtype, byte order, shape and values, or by a
pickled object that would leave a mark if it were ever unpickled.

Each finding of these tests keeps its smallest failing example pinned with ``@example``, so it is tried on
every run.
"""

import contextlib
import io
import json
import os
import signal
import warnings
import zipfile
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import logistic_sgd
import mlp
from autoencoders_tutorial.errors import TutorialError
from autoencoders_tutorial.files import params_to_arrays, save_params
from autoencoders_tutorial.predict import image_rows
from autoencoders_tools.estimators import DenoisingAutoencoder, SdAClassifier

#: The slow tier (CI runs it on every change): a fixture that fits both estimators and ~50 Hypothesis runs, half
#: a minute of a cold default tier that must stay under two minutes.
pytestmark = pytest.mark.slow

#: Examples per test: the whole file runs in seconds.
EXAMPLES = 25
#: Seconds one example may take before it counts as a hang (a FIFO read, a decoder that never ends).
HANG_SECONDS = 20


class Hang(BaseException):
    """Raised in an example that ran past :data:`HANG_SECONDS` (a BaseException: no reader's handler takes it)."""


@contextlib.contextmanager
def _no_hang(seconds=HANG_SECONDS):
    def alarm(*_):
        raise Hang(f"still reading after {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _run(strategies, check, examples=EXAMPLES, pinned=()):
    """Run ``check`` under Hypothesis, ``pinned`` examples (the smallest failures found) first."""
    test = given(**strategies)(check)
    for kwargs in pinned:
        test = example(**kwargs)(test)
    settings(max_examples=examples, deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                    HealthCheck.data_too_large])(test)()


#: The warnings Python's default filters hide from a user (outside ``__main__``): every other one is printed.
HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def _accepted_or_one_line(path, read):
    """``read()``'s result, or None when it refused ``path`` with one line of the library's errors naming it.
    Either way no warning reaches the user (Python prints each on stderr: more lines than one)."""
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        for category in HIDDEN:
            warnings.simplefilter("ignore", category)
        try:
            with _no_hang():
                return read()
        except TutorialError as exc:
            message = str(exc)
            assert "\n" not in message and message.strip(), repr(message)
            assert str(path) in message, f"the message does not name {path}: {message}"
            return None
        finally:
            assert not said, f"{path}: warnings printed: {[f'{w.category.__name__}: {w.message}' for w in said]}"


def _finite(values, what):
    values = np.asarray(values)
    assert values.dtype.kind in "biuf", (what, values.dtype)
    assert np.all(np.isfinite(values)), f"{what} not finite: {values}"


def _write(folder, name, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path


# -- damaging bytes ------------------------------------------------------------------------------------------------

#: One change to a file's bytes: flip bits of a byte, cut the file, insert bytes, delete a stretch, overwrite one.
EDIT = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**31), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 2**31)),
    st.tuples(st.just("insert"), st.integers(0, 2**31), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 2**31), st.integers(1, 64)),
    st.tuples(st.just("overwrite"), st.integers(0, 2**31), st.binary(min_size=1, max_size=16)),
)
EDITS = st.lists(EDIT, min_size=1, max_size=3)


def _edited(data: bytes, edits) -> bytes:
    """``data`` with ``edits`` (of :data:`EDIT`) applied; positions wrap around the length."""
    b = bytearray(data)
    for op, at, *arg in edits:
        at = at % (len(b) + 1)
        if op == "flip" and b:
            b[at % len(b)] ^= arg[0]
        elif op == "cut":
            del b[at:]
        elif op == "insert":
            b[at:at] = arg[0]
        elif op == "delete":
            del b[at:at + arg[0]]
        elif op == "overwrite":
            b[at:at + len(arg[0])] = arg[0]
    return bytes(b)


def _zip_members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def _zipped(members: dict) -> bytes:
    """An ``.npz`` (a zip, stored, CRCs right) of ``{member name: bytes}``."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _npy_bytes(a, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def _npy_header_end(data: bytes) -> int:
    """Where a ``.npy``'s data begins (after the header's newline)."""
    return data.index(b"\n") + 1


def _header_edited(data: bytes, edits) -> bytes:
    """A ``.npy``'s bytes with ``edits`` in its header only (magic, version, length, the dict), its data as it was."""
    end = _npy_header_end(data)
    return _edited(data[:end], edits) + data[end:]


def _data_edited(data: bytes, edits) -> bytes:
    """A ``.npy``'s bytes with ``edits`` in its data only, its header as it was."""
    end = _npy_header_end(data)
    return data[:end] + _edited(data[end:], edits)


class Canary:
    """Pickled, it says: make this folder. Any reader that unpickles a user's file leaves the folder behind."""

    def __init__(self, folder):
        self.folder = str(folder)

    def __reduce__(self):
        return os.mkdir, (self.folder,)


def _object_array(folder):
    a = np.empty(2, dtype=object)
    a[0], a[1] = Canary(folder), "x"
    return a


#: Dtypes a user's array can have: every numeric one in either byte order, and ones that are not numbers.
ANY_DTYPE = st.one_of(
    hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64)), hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"), hnp.boolean_dtypes(), hnp.complex_number_dtypes(endianness="?"),
    hnp.datetime64_dtypes(endianness="?"), hnp.timedelta64_dtypes(endianness="?"), hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4), st.just(np.dtype([("a", "<f4"), ("b", "<i2")])),
)
#: Shapes: scalars up to 3-D, 0-size ones included.
ANY_SHAPE = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)


def any_array(shapes=ANY_SHAPE, dtypes=ANY_DTYPE):
    """An array of any dtype, byte order and shape, and any values (NaN, inf, extremes included)."""
    return st.tuples(dtypes, shapes).flatmap(lambda a: hnp.arrays(a[0], a[1]))


def _with_special(a, where, value):
    """A float64 copy of ``a`` with one entry ``value`` (NaN, inf, a huge number)."""
    a = np.array(a, dtype=np.float64)
    if a.size:
        a.flat[where % a.size] = value
    return a


SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 1e300, -1e300, 3.5e38, 0.0, -1.0, 1e-320])


def npz_changes(members: dict):
    """Changes to an ``.npz`` (``members``: its member names and bytes) that keep the zip readable, as recipes
    :func:`_npz_changed` applies: one member's data (after its ``.npy`` header) edited and zipped again, CRCs right;
    one array replaced by any array, by the same one with a NaN / inf / huge entry, by the same values in another
    dtype or byte order, or by a pickled :class:`Canary`; a member dropped or added."""
    names = sorted(members)
    arrays = sorted(n for n in names if n != "__meta__.npy")
    return st.one_of(
        st.tuples(st.just("member data"), st.sampled_from(names), EDITS),
        st.tuples(st.just("array"), st.sampled_from(names), any_array()),
        st.tuples(st.just("array"), st.sampled_from(arrays), st.sampled_from(arrays).flatmap(
            lambda n: st.tuples(st.integers(0, 2**16), SPECIAL).map(
                lambda s: _with_special(np.load(io.BytesIO(members[n])), *s)))),
        st.tuples(st.just("array"), st.sampled_from(arrays), st.sampled_from(arrays).flatmap(
            lambda n: st.sampled_from(["<f2", ">f4", ">f8", "<i4", "<i8", "|u1", "|b1", "<c8", "<f16"]).map(
                lambda d: np.load(io.BytesIO(members[n])).astype(d)))),
        st.tuples(st.just("object"), st.sampled_from(names)),
        st.tuples(st.just("drop"), st.sampled_from(names)),
        st.tuples(st.just("add"), st.sampled_from(["extra.npy", "W.npy", "logreg.W.npy", "param.extra.npy",
                                                    "fitted.data_min.npy", "__meta__.npy"]), any_array()),
    )


def _npz_changed(original: bytes, change, canary) -> bytes:
    """``original`` (an ``.npz``'s bytes) changed by ``change`` (a recipe of :func:`npz_changes` or
    ``("bytes", edits)``, ``("member header", name, edits)``); a pickled :class:`Canary` makes ``canary``."""
    kind, *args = change
    if kind == "bytes":
        return _edited(original, args[0])
    members = _zip_members(original)
    if kind == "member header":
        members[args[0]] = _header_edited(members[args[0]], args[1])
    elif kind == "member data":
        members[args[0]] = _data_edited(members[args[0]], args[1])
    elif kind in ("array", "add"):
        members[args[0]] = _npy_bytes(args[1])
    elif kind == "object":
        members[args[0]] = _npy_bytes(_object_array(canary), allow_pickle=True)
    elif kind == "drop":
        del members[args[0]]
    return _zipped(members)


# -- the files the properties start from ---------------------------------------------------------------------------

N_FEATURES = 16  # 4 x 4 images


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A real file of each kind, as its writer writes it: ``{kind: path}``; the estimators fitted (a few rows, one
    epoch) on data outside [0, 1], so their files hold the scaling too."""
    import dA
    import SdA

    d = tmp_path_factory.mktemp("originals")
    rng = np.random.default_rng(0)
    x = logistic_sgd.pt.matrix("x", dtype="float32")
    lr = logistic_sgd.LogisticRegression(x, N_FEATURES, 3)
    with logistic_sgd.pytensor.config.change_flags(floatX="float32"):
        net = mlp.MLP(0, x, N_FEATURES, 5, 3)
    for clf in (lr, net):  # trained weights are not all zeros: NaN and inf spread through them
        for p in clf.params:
            p.set_value(rng.normal(size=p.get_value().shape).astype(p.get_value().dtype))
    meta = dict(n_in=N_FEATURES, n_out=3, dataset="synthetic", validation_error=0.1, test_error=0.1)
    paths = {"logistic_sgd": d / "logistic.npz", "mlp": d / "mlp.npz", "dA": d / "dA.npz", "SdA": d / "SdA.npz",
             "DenoisingAutoencoder": d / "da_estimator.npz", "SdAClassifier": d / "sda_estimator.npz"}
    save_params(paths["logistic_sgd"], params_to_arrays(lr.params), model="LogisticRegression", **meta)
    save_params(paths["mlp"], params_to_arrays(net.params), model="MLP", n_hidden=5, L1_reg=0.0, L2_reg=0.0001,
                **meta)
    dA.dA(0, n_visible=N_FEATURES, n_hidden=3).save(paths["dA"], corruption_level=0.3, epochs_done=1,
                                                   interrupted=False, dataset="synthetic", precision="float32")
    SdA.SdA(0, n_ins=N_FEATURES, hidden_layers_sizes=(4,), n_outs=3, corruption_levels=(0.1,)).save(
        paths["SdA"], config=dict(dataset="synthetic", precision="float32", batch_size=10, seed=1))
    X = rng.random((20, N_FEATURES)) * 4
    DenoisingAutoencoder(n_hidden=3, n_epochs=1, random_state=0, mode="FAST_COMPILE").fit(X).save(
        paths["DenoisingAutoencoder"])
    SdAClassifier(hidden_layers_sizes=(3,), pretraining_epochs=1, max_epochs=1, random_state=0,
                  mode="FAST_COMPILE").fit(X, np.array([0, 3, 7, 3] * 5)).save(paths["SdAClassifier"])
    return paths


def _predict(model, path):
    """``python logistic_sgd.py --predict path`` from Python: ``(labels, probabilities)``, or None if refused
    in one line naming ``path``; each line said is one line."""
    said = []
    got = _accepted_or_one_line(path, lambda: logistic_sgd.predict(model, inputs=[str(path)], log=said.append))
    assert all("\n" not in line for line in said), said
    if got is not None:
        labels, p = got
        assert len(labels) == len(p) >= 1 and set(np.asarray(labels).tolist()) <= {0, 1, 2}
        _finite(p, f"the probabilities predicted for {path}")
    return got


# -- (a) images ----------------------------------------------------------------------------------------------------

#: Pillow modes a drawing tool, a scanner or numpy can save, with the bytes each pixel takes.
MODES = {"1": 1 / 8, "L": 1, "LA": 2, "P": 1, "PA": 2, "RGB": 3, "RGBA": 4, "CMYK": 4, "I;16": 2, "I;16B": 2, "I": 4,
         "F": 4}
FORMATS = {"PNG": ".png", "TIFF": ".tif", "BMP": ".bmp", "GIF": ".gif", "JPEG": ".jpg", "WEBP": ".webp"}
SIDE = st.sampled_from([1, 2, 3, 4, 5, 7, 8, 16, 31, 64])


ALL_FORMATS = tuple(sorted(FORMATS))


@st.composite
def images(draw, formats=ALL_FORMATS):
    """``(format, suffix, image, save options)``: a Pillow image of any mode and size (1x1, non-square), any pixels
    (a float image's NaN and inf included), now and then a transparent colour or an EXIF orientation (valid or not)."""
    mode, fmt = draw(st.sampled_from(sorted(MODES))), draw(st.sampled_from(formats))
    w, h = draw(SIDE), draw(SIDE)
    n = (w + 7) // 8 * h if mode == "1" else int(w * h * MODES[mode])
    pixels = draw(st.binary(min_size=n, max_size=n) | st.sampled_from([0, 255, 128]).map(lambda v: bytes([v]) * n))
    img = Image.frombytes(mode, (w, h), pixels)
    if mode in ("P", "PA"):
        palette = draw(st.binary(min_size=3, max_size=768))
        img.putpalette(palette[:len(palette) // 3 * 3])
    extra = {}
    if draw(st.booleans()) and mode in ("L", "P", "RGB", "1"):
        extra["transparency"] = draw(st.integers(0, 255)) if mode != "RGB" else (0, 0, 0)
    if draw(st.booleans()) and fmt in ("PNG", "JPEG", "TIFF", "WEBP"):
        exif = Image.Exif()
        exif[0x0112] = draw(st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 0, 9, 65535]))
        extra["exif"] = exif
    return fmt, FORMATS[fmt], img, extra


def _image_bytes(fmt, img, extra) -> bytes:
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt, **extra)
    except (OSError, ValueError, KeyError, TypeError):  # a mode this format cannot hold: not a file a user has
        reject()
    return buf.getvalue()


def _image_predicted(model, path):
    """An image read as one row of 4 x 4 pixels in [0, 1] and predicted finite, or refused in one line."""
    row = _accepted_or_one_line(path, lambda: image_rows(path, (4, 4)))
    if row is not None:
        pixels, said = row
        assert pixels.shape == (1, N_FEATURES) and "\n" not in said
        _finite(pixels, f"the pixels read from {path}")
        assert pixels.min() >= 0 and pixels.max() <= 1
    _predict(model, path)


def test_any_image_pillow_writes_is_predicted_finite_or_one_line(files, tmp_path_factory):
    def check(image):
        fmt, suffix, img, extra = image
        path = _write(tmp_path_factory.mktemp("image"), "drawing" + suffix, _image_bytes(fmt, img, extra))
        _image_predicted(files["logistic_sgd"], path)

    _run(dict(image=images()), check)


@st.composite
def damaged_images(draw):
    """``(suffix, bytes)``: a valid image with bytes edited, or any bytes, named as any image kind."""
    fmt, suffix, img, extra = draw(images())
    data = _image_bytes(fmt, img, extra)
    data = _edited(data, draw(EDITS)) if draw(st.booleans()) else draw(st.binary(max_size=64))
    return draw(st.sampled_from([suffix, *FORMATS.values(), ".jpeg", ".tiff"])), data


def test_any_damaged_image_is_predicted_finite_or_one_line(files, tmp_path_factory):
    def check(damaged):
        suffix, data = damaged
        _image_predicted(files["logistic_sgd"], _write(tmp_path_factory.mktemp("image"), "drawing" + suffix, data))

    _run(dict(damaged=damaged_images()), check)


#: A 1x1 TIFF damaged (Hypothesis's smallest example): its tags point past the end of the file.
TRUNCATED_TIFF = (b'II*\x00\n\x00\x00\x00\x08\x00\x00\x01\x04\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x01'
                  b'\x04\x00\x01\x00\x00\x00\x01\x00\x00\x00\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00\x06\x01'
                  b'\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00\x11\x01\x04\x00\x01\x00\x00\x00n\x00\x00\x00\x16\x01'
                  b'\x04\x00\x01\x00\x00\x00\x01\x00\x00\x00\x17\x01\x04\x00\x01\x00\x00\x00\x01\x00\x00\x00\x1c\x01'
                  b'\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00')


def test_a_damaged_tiff_is_one_line_without_pils_warnings(files, tmp_path_factory):
    """Damaged TIFFs, without leaving Pillow's warnings aside as the other image tests do."""
    def check(damaged):
        path = _write(tmp_path_factory.mktemp("image"), "drawing.tif", damaged)
        _image_predicted(files["logistic_sgd"], path)

    tiff = images(formats=("TIFF",)).map(lambda a: _image_bytes(a[0], a[2], a[3]))
    _run(dict(damaged=st.tuples(tiff, EDITS).map(lambda a: _edited(*a))), check, examples=20,
         pinned=[dict(damaged=TRUNCATED_TIFF)])


def _png_of_size(width, height) -> bytes:
    """A 3x2 PNG whose header says ``width`` x ``height`` (its CRC right): a decompression bomb's header."""
    buf = io.BytesIO()
    Image.new("L", (3, 2), 200).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def test_a_png_claiming_any_size_is_predicted_finite_or_one_line(files, tmp_path_factory):
    def check(width, height):
        path = _write(tmp_path_factory.mktemp("image"), "drawing.png", _png_of_size(width, height))
        _image_predicted(files["logistic_sgd"], path)

    side = st.sampled_from([0, 1, 3, 9000, 10000, 20000, 2**31 - 1, 2**32 - 1]) | st.integers(0, 2**32 - 1)
    _run(dict(width=side, height=side), check, examples=20, pinned=[dict(width=10000, height=10000)])


# -- (b) .npy rows -------------------------------------------------------------------------------------------------

#: Shapes of rows: mostly the model's width (rows or one 1-D row), now and then anything.
ROW_SHAPES = st.one_of(st.integers(0, 4).map(lambda n: (n, N_FEATURES)), st.just((N_FEATURES,)), ANY_SHAPE)
#: A real rows file: three rows in [0, 1].
ROWS_NPY = _npy_bytes(np.random.default_rng(0).random((3, N_FEATURES)))


def test_any_npy_array_is_predicted_finite_or_one_line(files, tmp_path_factory):
    """Arrays of any dtype, byte order and shape, of any values (those out of range: the tests below pin them)."""
    def check(rows):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("npy"), "rows.npy", _npy_bytes(rows)))

    _run(dict(rows=ANY_DTYPE.flatmap(lambda d: hnp.arrays(d, ROW_SHAPES))), check)


def rows_with_one(values):
    """Two rows in [0, 1] with one entry of ``values``."""
    return st.tuples(hnp.arrays(np.float64, (2, N_FEATURES), elements=st.floats(0, 1)), st.integers(0, 31),
                     st.sampled_from(values)).map(lambda a: _with_special(*a))


def test_a_npy_row_with_nan_or_inf_is_refused_in_one_line(files, tmp_path_factory):
    def check(rows):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("npy"), "rows.npy", _npy_bytes(rows)))

    _run(dict(rows=rows_with_one([np.nan, np.inf, -np.inf])), check,
         pinned=[dict(rows=np.full((1, N_FEATURES), np.nan))])


def test_a_npy_row_of_huge_finite_numbers_is_predicted_finite_or_one_line(files, tmp_path_factory):
    def check(rows):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("npy"), "rows.npy", _npy_bytes(rows)))

    _run(dict(rows=rows_with_one([1e300, -1e300, 3.5e38, -1e38, 1e36])), check,
         pinned=[dict(rows=np.full((1, N_FEATURES), 1e300))])


def test_any_damage_to_a_npy_after_its_header_is_predicted_finite_or_one_line(files, tmp_path_factory):
    """Bytes flipped, cut, inserted or overwritten in a real rows file's data (or any bytes as a .npy)."""
    def check(data):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("npy"), "rows.npy", data))

    _run(dict(data=EDITS.map(lambda e: _data_edited(ROWS_NPY, e)) | st.binary(max_size=200)), check)


def test_any_damage_to_a_npy_header_is_one_line(files, tmp_path_factory):
    def check(edits):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("npy"), "rows.npy",
                                               _header_edited(ROWS_NPY, edits)))

    _run(dict(edits=EDITS), check,
         pinned=[dict(edits=[("flip", ROWS_NPY.index(b"("), 1)])])


def test_a_pickled_npy_is_refused_in_one_line_without_unpickling(files, tmp_path_factory):
    """An object array (pickled), whole or with its pickle damaged: refused, and the pickle never runs."""
    def check(edits):
        folder = tmp_path_factory.mktemp("npy")
        data = _data_edited(_npy_bytes(_object_array(folder / "pickle-ran"), allow_pickle=True), edits)
        _predict(files["logistic_sgd"], _write(folder, "rows.npy", data))
        assert not (folder / "pickle-ran").exists(), "a pickle in a user's .npy was run"

    _run(dict(edits=st.just([]) | EDITS), check, examples=20)


# -- (c) .csv rows -------------------------------------------------------------------------------------------------

#: A cell of a CSV file: numbers in every spelling, and things that are not numbers.
CELL = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr), st.integers(-10**30, 10**30).map(str),
    st.floats(0, 1).map(lambda v: f"{v:.3f}"),
    st.sampled_from(["", " ", "0x10", "1_000", "1e999", "-1e999", "1,5", '"0.5"', "# note", "abc", "0.5j", "\t1",
                     "TRUE", "\u0661", "\x00", "1e-400", "+.5", "5."]),
)


@st.composite
def csv_texts(draw):
    """CSV text: rows of cells (mostly the model's width, now and then ragged), with any line ends."""
    n_rows = draw(st.integers(0, 3))
    rows = [draw(st.lists(CELL, min_size=N_FEATURES, max_size=N_FEATURES) | st.lists(CELL, max_size=20))
            for _ in range(n_rows)]
    return draw(st.sampled_from(["\n", "\r\n", "\r"])).join(",".join(r) for r in rows) + draw(
        st.sampled_from(["", "\n", "\n\n"]))


def test_any_csv_text_is_predicted_finite_or_one_line(files, tmp_path_factory):
    def check(text):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("csv"), "rows.csv", text.encode()))

    _run(dict(text=csv_texts() | st.text(max_size=80)), check)


def test_a_csv_with_nan_or_inf_is_refused_in_one_line(files, tmp_path_factory):
    def check(row):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("csv"), "rows.csv", ",".join(row).encode()))

    row = st.lists(st.sampled_from(["0.5", "0", "1"]), min_size=N_FEATURES - 1, max_size=N_FEATURES - 1).flatmap(
        lambda r: st.sampled_from(["nan", "inf", "-inf", "1e999", "NaN", "-nan"]).map(lambda v: [v, *r]))
    _run(dict(row=row), check, pinned=[dict(row=["nan"] * N_FEATURES)])


def test_any_bytes_as_csv_are_predicted_finite_or_one_line(files, tmp_path_factory):
    def check(data):
        _predict(files["logistic_sgd"], _write(tmp_path_factory.mktemp("csv"), "rows.csv", data))

    valid = "\n".join(",".join(f"{v:.3f}" for v in row) for row in np.random.default_rng(0).random((2, N_FEATURES)))
    _run(dict(data=st.binary(max_size=120) | EDITS.map(lambda e: _edited(valid.encode(), e))), check)


# -- (d) model files and (e) estimator files -----------------------------------------------------------------------

SCRIPT_KINDS = ["logistic_sgd", "mlp", "dA", "SdA"]
ESTIMATOR_KINDS = ["DenoisingAutoencoder", "SdAClassifier"]


def _claimed_width(path, member):
    """The rows of the array ``member`` of the ``.npz`` at ``path`` as its header says (the test's own peek, without
    reading the data); the model's width when the file says nothing readable."""
    try:
        with zipfile.ZipFile(path) as zf, zf.open(member + ".npy") as f:
            major, _ = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape = read(f)[0]
        return min(int(shape[0]), 64) if len(shape) == 2 and shape[0] > 0 else N_FEATURES
    except Exception:
        return N_FEATURES


def _use_script_model(kind, path):
    """What a user does with a model file of ``kind``: predict on rows of its width (logistic_sgd.py, mlp.py,
    SdA.py: class probabilities), or the codes of rows (dA.py); or None when refused in one line naming ``path``."""
    import dA
    import SdA

    def use():
        if kind in ("logistic_sgd", "mlp"):
            script = logistic_sgd if kind == "logistic_sgd" else mlp
            rows = path.with_name("rows.npy")
            np.save(rows, np.random.default_rng(1).random((3, _claimed_width(
                path, "logreg.W" if kind == "logistic_sgd" else "hidden.W"))))
            return script.predict(path, inputs=[str(rows)], log=lambda *_: None)[1]
        if kind == "dA":
            model = dA.dA.load(path)
            return model.get_codes(np.random.default_rng(1).random((3, model.n_visible)))
        model = SdA.SdA.load(path)
        return model.predict_proba(np.random.default_rng(1).random((3, model.n_ins)))

    return _accepted_or_one_line(path, use)


def _use_estimator(kind, path):
    """An estimator file loaded and used: ``transform`` (DenoisingAutoencoder) or ``predict_proba`` and
    ``predict`` (SdAClassifier) on rows of its width; or None when refused in one line naming ``path``."""
    def use():
        est = (DenoisingAutoencoder if kind == "DenoisingAutoencoder" else SdAClassifier).load(path)
        X = np.random.default_rng(1).random((3, est.n_features_in_)) * 4
        if kind == "DenoisingAutoencoder":
            return est.transform(X)
        proba = est.predict_proba(X)
        assert set(est.predict(X).tolist()) <= set(est.classes_.tolist())
        return proba

    return _accepted_or_one_line(path, use)


def _use(kind, path):
    return (_use_script_model if kind in SCRIPT_KINDS else _use_estimator)(kind, path)


def _file_changed(files, kind, tmp_path_factory, change):
    folder = tmp_path_factory.mktemp("model")
    path = _write(folder, files[kind].name, _npz_changed(files[kind].read_bytes(), change, folder / "pickle-ran"))
    got = _use(kind, path)
    assert not (folder / "pickle-ran").exists(), f"a pickle in {path} was run"
    if got is not None:
        _finite(got, f"what {path} gives")


def _members(files, kind):
    return _zip_members(files[kind].read_bytes())


@pytest.mark.parametrize("kind", SCRIPT_KINDS + ESTIMATOR_KINDS)
def test_the_original_file_is_read_and_used(files, kind):
    got = _use(kind, files[kind])
    assert got is not None
    _finite(got, kind)


@pytest.mark.parametrize("kind", SCRIPT_KINDS + ESTIMATOR_KINDS)
def test_any_array_of_a_model_file_changed_is_used_finite_or_one_line(files, tmp_path_factory, kind):
    """An array replaced (any dtype, byte order, shape, values; a pickle), dropped or added, or its data damaged
    with the zip's CRCs right: the file is read and what it gives is finite, or it is refused in one line."""
    _run(dict(change=npz_changes(_members(files, kind))),
         lambda change: _file_changed(files, kind, tmp_path_factory, change))


#: A model file whose metadata's .npy header length is one off (one bit of its byte 8 flipped).
HEADER_LENGTH_OFF = ("member header", "__meta__.npy", [("flip", 8, 1)])


@pytest.mark.parametrize("kind", SCRIPT_KINDS + ESTIMATOR_KINDS)
def test_any_damage_to_an_array_header_of_a_model_file_is_one_line(files, tmp_path_factory, kind):
    """One member's ``.npy`` header (magic, version, length, dict) edited, the zip around it right."""
    members = _members(files, kind)
    _run(dict(change=st.tuples(st.just("member header"), st.sampled_from(sorted(members)), EDITS)),
         lambda change: _file_changed(files, kind, tmp_path_factory, change), pinned=[dict(change=HEADER_LENGTH_OFF)])


@pytest.mark.parametrize("kind", SCRIPT_KINDS + ESTIMATOR_KINDS)
def test_any_damage_to_the_bytes_of_a_model_file_is_used_finite_or_one_line(files, tmp_path_factory, kind):
    """Any bytes of the file edited: the zip's own structure, its CRCs, each array's header and data."""
    original = files[kind].read_bytes()
    encrypted = ("bytes", [("flip", original.index(b"PK\x01\x02") + 8, 1)])  # the first entry's flag bits
    _run(dict(change=st.tuples(st.just("bytes"), EDITS)),
         lambda change: _file_changed(files, kind, tmp_path_factory, change), pinned=[dict(change=encrypted)])


@pytest.mark.parametrize("kind", ["rows", "model"])
def test_a_npy_header_with_a_backslash_is_one_line(files, tmp_path_factory, kind):
    folder = tmp_path_factory.mktemp("header")
    if kind == "rows":
        _predict(files["logistic_sgd"], _write(folder, "rows.npy", ROWS_NPY.replace(b"'<f8'", b"'\\|8'")))
    else:
        members = _members(files, "logistic_sgd")
        members["logreg.b.npy"] = members["logreg.b.npy"].replace(b"'<f4'", b"'\\|4'")
        assert _use("logistic_sgd", _write(folder, "logistic.npz", _zipped(members))) is None


@pytest.mark.parametrize("kind", ESTIMATOR_KINDS)
def test_an_estimator_file_with_a_subnormal_data_range_is_used_or_one_line(files, tmp_path_factory, kind):
    def check(where, value):
        folder = tmp_path_factory.mktemp("model")
        data_range = np.load(io.BytesIO(_members(files, kind)["fitted.data_range.npy"]))
        change = ("array", "fitted.data_range.npy", _with_special(data_range, where, value))
        path = _write(folder, files[kind].name, _npz_changed(files[kind].read_bytes(), change, None))
        got = _use_estimator(kind, path)
        if got is not None:
            _finite(got, f"what {path} gives")

    _run(dict(where=st.integers(0, N_FEATURES - 1), value=st.sampled_from([1e-320, 5e-324, 1e-310, 2e-308])),
         check, examples=10, pinned=[dict(where=0, value=1e-320)])


@pytest.mark.parametrize("kind", SCRIPT_KINDS + ESTIMATOR_KINDS)
def test_any_bytes_as_a_model_file_are_one_line(files, tmp_path_factory, kind):
    def check(data):
        assert _use(kind, _write(tmp_path_factory.mktemp("model"), files[kind].name, data)) is None

    _run(dict(data=st.binary(max_size=120) | st.just(b"PK\x03\x04") | st.just(b"")), check, examples=15)


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                      max_size=3), max_leaves=6)


@pytest.mark.parametrize("kind", ["logistic_sgd", "mlp"])
def test_any_metadata_of_a_classifier_file_is_used_finite_or_one_line(files, tmp_path_factory, kind):
    """The metadata member of logistic_sgd.py's and mlp.py's files (whose fields no other test changes) with one
    field set to any JSON value, or replaced by any text."""
    members = _members(files, kind)
    meta = json.loads(np.load(io.BytesIO(members["__meta__.npy"])).tobytes())

    def check(key, value, raw):
        text = raw if raw is not None else json.dumps(dict(meta, **{key: value}))
        changed = dict(members, **{"__meta__.npy": _npy_bytes(np.frombuffer(text.encode(), dtype=np.uint8))})
        got = _use(kind, _write(tmp_path_factory.mktemp("model"), files[kind].name, _zipped(changed)))
        if got is not None:
            _finite(got, "the predictions")

    _run(dict(key=st.sampled_from(sorted(meta) + ["format_version", "new"]), value=JSON_VALUES,
              raw=st.none() | st.text(max_size=30)), check, examples=20)
