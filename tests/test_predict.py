"""predict: your own images, .npy / .csv rows and datasets through a trained classifier, from the scripts and Python."""

import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

import logistic_sgd
import mlp
from autoencoders_tutorial.datasets import Dataset, load_digits_dataset, make_synthetic
from autoencoders_tutorial.errors import DataError
from autoencoders_tutorial.images import INK, frame_ink
from autoencoders_tutorial.predict import image_rows, predict_inputs, predict_saved


def _png(path, row, side, size, dark_on_light=True):
    """``row`` (``side`` x ``side`` values in [0, 1]) drawn as a ``size`` x ``size`` PNG, as a person's scan would be."""
    pixels = np.asarray(row).reshape(side, side)
    if dark_on_light:
        pixels = 1 - pixels
    img = Image.fromarray(np.uint8(np.round(pixels * 255))).resize((size, size), Image.NEAREST).convert("RGB")
    img.save(path)
    return path


def test_an_image_becomes_the_row_it_was_drawn_from(tmp_path):
    row = load_digits_dataset().test[0][0]
    got, said = image_rows(_png(tmp_path / "d.png", row, 8, 64), (8, 8))
    assert said == "64x64 RGB -> grayscale -> inverted (dark strokes on a light background) -> resized to 8x8 -> " \
                   "scaled to [0, 1]"
    np.testing.assert_allclose(got[0], row, atol=0.5 / 255)  # 8-bit pixels: the one rounding there is
    with pytest.raises(DataError, match=r"cannot read .*bad\.png as an image"):
        (tmp_path / "bad.png").write_bytes(b"not a png")
        image_rows(tmp_path / "bad.png", (8, 8))


@pytest.mark.parametrize("script", [logistic_sgd, mlp])
def test_predict_files_from_the_command_line(tmp_path, capsys, script):
    out = tmp_path / "out"
    args = ["--dataset", "synthetic", "--epochs", "3", "--batch-size", "10", "--output-dir", str(out)]
    assert script.main([*args, *(["--hidden", "5"] if script is mlp else [])]) == 0
    capsys.readouterr()
    test = make_synthetic().test[0]
    mostly_dark = np.flatnonzero(test.mean(axis=1) < 0.45)[:4]  # drawn dark on light, these read back as they were
    X = test[mostly_dark]
    want = script.predict(out / "best_model.npz", inputs=["synthetic"], log=lambda *_: None)[0][mostly_dark]
    files = [str(_png(tmp_path / f"{i}.png", X[i], 4, 32)) for i in range(2)]
    np.save(tmp_path / "rows.npy", X[2:])
    np.savetxt(tmp_path / "rows.csv", X[2:], delimiter=",")
    assert script.main(["--predict", *files, str(tmp_path / "rows.npy"), str(tmp_path / "rows.csv"),
                        "--output-dir", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    labels = [int(line.split(": ")[1].split(" (p=")[0]) for line in lines if " (p=" in line]
    assert labels == [*want, *want[2:]]
    assert any("32x32 RGB -> grayscale -> inverted" in line for line in lines)
    # a dataset: its labels are known, so the accuracy and the confusion matrix
    assert script.main(["--predict", "synthetic", "--output-dir", str(out)]) == 0
    said = capsys.readouterr().out
    assert "% on 50 labelled rows" in said and "true\\pred" in said
    # bare --predict: today's first ten test rows, and now the test accuracy
    assert script.main(["--predict", "--dataset", "synthetic", "--output-dir", str(out)]) == 0
    said = capsys.readouterr().out
    assert "Predicted values for the first 10 examples in test set:" in said and "% on all 50 test rows" in said
    # a wrong width or an unreadable file: one line
    np.save(tmp_path / "wide.npy", np.zeros((2, 17)))
    assert script.main(["--predict", str(tmp_path / "wide.npy"), "--output-dir", str(out)]) == 2
    assert "holds rows of shape (17,), the model takes rows of 16 values" in capsys.readouterr().err
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    assert script.main(["--predict", str(tmp_path / "bad.jpg"), "--output-dir", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {tmp_path / 'bad.jpg'} as an image")


@pytest.mark.slow  # trains the SdA on the digits for 30 epochs
def test_an_sda_reads_handwritten_digit_pngs(tmp_path, capsys):
    import SdA

    out = tmp_path / "sda"
    assert SdA.main(["--dataset", "digits", "--hidden", "100", "--epochs", "30", "--batch-size", "10",
                     "--output-dir", str(out)]) == 0
    ds = load_digits_dataset()
    X, y = ds.test
    sda = SdA.SdA.load(out / "SdA_model.npz")
    right = np.flatnonzero(sda.predict(X) == y)
    picks = [right[np.flatnonzero(y[right] == d)[0]] for d in range(10)]  # one clearly written digit of each class
    files = [str(_png(tmp_path / f"digit{d}.png", X[i], 8, 64)) for d, i in enumerate(picks)]
    capsys.readouterr()
    assert SdA.main(["--predict", *files, "--output-dir", str(out)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if " (p=" in line]
    assert [int(line.split(": ")[1].split(" ")[0]) for line in lines] == list(range(10))
    labels, _ = predict_inputs(sda.predict_proba, sda.n_ins, files, log=lambda *_: None)  # and from Python
    assert list(labels) == list(range(10))


def _strokes():
    """A digit's pixels (8 x 8 in [0, 1], light strokes) and the same drawn as dark strokes on white, 64 x 64, 8 bits."""
    row = load_digits_dataset().test[0][0]
    light = np.uint8(np.round(row.reshape(8, 8) * 255))
    return row, Image.fromarray(255 - light).resize((64, 64), Image.NEAREST)


@pytest.mark.parametrize("kind", ["RGBA on transparent", "16-bit", "float in [0, 1]", "EXIF rotated"])
def test_images_as_drawing_tools_save_them_give_the_8_bit_originals_row(tmp_path, kind):
    row, gray = _strokes()
    want, _ = image_rows(gray.save(tmp_path / "gray.png") or tmp_path / "gray.png", (8, 8))
    dark = 255 - np.asarray(gray)  # the strokes' ink, 0 (none) to 255
    if kind == "RGBA on transparent":  # black ink, its opacity the alpha: what most drawing tools save
        rgba = np.zeros((64, 64, 4), np.uint8)
        rgba[..., 3] = dark
        img, path, words = Image.fromarray(rgba, "RGBA"), tmp_path / "a.png", "transparency composited onto white"
    elif kind == "16-bit":
        img, path, words = Image.fromarray(np.uint16(np.asarray(gray)) * 257), tmp_path / "b.png", "scaled by its own range"
    elif kind == "float in [0, 1]":
        img, path, words = Image.fromarray(np.float32(np.asarray(gray) / 255.0), "F"), tmp_path / "c.tif", "scaled by its own range"
    else:  # stored on its side, with the EXIF tag that turns it upright (orientation 6: turn 90 degrees clockwise)
        exif = Image.Exif()
        exif[0x0112] = 6
        img, path, words = gray.transpose(Image.Transpose.ROTATE_90), tmp_path / "d.png", "turned upright"
        img.save(path, exif=exif)
    if kind != "EXIF rotated":
        img.save(path)
    got, said = image_rows(path, (8, 8))
    assert words in said and "\n" not in said
    np.testing.assert_allclose(got, want, atol=1.5 / 255)
    np.testing.assert_allclose(got[0], row, atol=2 / 255)


@pytest.mark.parametrize("name, content, words", [
    ("empty.npy", None, "not a readable .npy array"),
    ("none.npy", np.zeros((0, 16)), "holds no rows"),
    ("time.npy", np.zeros((1, 16), dtype="timedelta64[s]"), "timedelta64[s] values, not real numbers"),
    ("empty.csv", "", "holds no rows"),
    ("blank.csv", "\n\n", "holds no rows"),
])
def test_rows_files_that_hold_no_numbers_are_one_line(tmp_path, name, content, words):
    from autoencoders_tutorial.predict import array_rows

    path = tmp_path / name
    if content is None or isinstance(content, str):
        path.write_text(content or "")
    else:
        np.save(path, content)
    with pytest.raises(DataError, match=re.escape(words)):
        array_rows(path, 16)


def _drawn(path, digit, box, size=300):
    """``digit`` (0, 1, 4 or 7) drawn as a person would, black strokes a sixth of its height wide, in ``box`` of a white
    ``size`` x ``size`` canvas (PNG)."""
    img = Image.new("L", (size, size), 255)
    pen, (x0, y0, x1, y1) = ImageDraw.Draw(img), box
    width = max(3, (y1 - y0) // 6)
    strokes = {1: [((x0 + x1) // 2, y0), ((x0 + x1) // 2, y1)], 7: [(x0, y0), (x1, y0), (x0 + (x1 - x0) // 3, y1)],
               4: [(x0 + (x1 - x0) * 2 // 3, y1), (x0 + (x1 - x0) * 2 // 3, y0), (x0, y0 + (y1 - y0) * 2 // 3),
                   (x1, y0 + (y1 - y0) * 2 // 3)]}
    if digit == 0:
        pen.ellipse(box, outline=0, width=width)
    else:
        pen.line(strokes[digit], fill=0, width=width, joint="curve")
    img.save(path)
    return str(path)


def _ink_box_and_mass(square):
    rows, cols = np.nonzero(square > INK)
    mass = [float((axis * square).sum() / square.sum()) for axis in np.indices(square.shape)]
    return max(rows.max() - rows.min(), cols.max() - cols.min()) + 1, mass


@pytest.mark.parametrize("digit, box", [(0, (20, 30, 90, 130)), (0, (150, 100, 290, 290)), (1, (250, 10, 270, 60)),
                                        (7, (5, 200, 60, 280)), (4, (100, 40, 260, 280)), (None, (200, 30, 240, 45))])
def test_a_drawing_is_framed_as_mnist_digits_were(tmp_path, digit, box):
    if digit is None:  # a filled rectangle, wider than high
        path = tmp_path / "rect.png"
        img = Image.new("L", (300, 300), 255)
        ImageDraw.Draw(img).rectangle(box, fill=0)
        img.save(path)
    else:
        path = _drawn(tmp_path / "d.png", digit, box)
    row, said = image_rows(path, (28, 28))
    assert said.endswith("centred in 28x28 by its centre of mass") and "framed as MNIST: the ink's" in said
    side, mass = _ink_box_and_mass(row.reshape(28, 28))
    assert abs(side - 20) <= 1 and np.allclose(mass, 14, atol=1), (side, mass)
    again, _ = frame_ink(row.reshape(28, 28))  # an MNIST digit framed again: much as it was
    assert np.abs(again - row.reshape(28, 28)).mean() < 0.05
    unframed, said = image_rows(path, (28, 28), frame=False)  # the flag off: today's resize
    assert "framed" not in said and said.endswith("resized to 28x28 -> scaled to [0, 1]")
    side, _ = _ink_box_and_mass(unframed.reshape(28, 28))
    assert side < 20 if digit != 4 else side > 20  # small drawings stay small, large ones large


def test_fashion_items_are_framed_as_fashion_mnist_and_blank_images_not_at_all(tmp_path):
    img = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(img).rectangle((20, 200, 140, 260), fill=0)  # a bag: 121 x 61
    img.save(tmp_path / "bag.png")
    row, said = image_rows(tmp_path / "bag.png", (28, 28), trained_on="fashion-mnist")
    assert "framed as Fashion-MNIST: the ink's 121x61 box scaled to 28x14, centred in 28x28 by its middle" in said
    rows, cols = np.nonzero(row.reshape(28, 28) > INK)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (7, 20, 0, 27)
    Image.new("L", (300, 300), 255).save(tmp_path / "blank.png")
    row, said = image_rows(tmp_path / "blank.png", (28, 28))
    assert "not framed: no ink" in said and said.endswith("resized to 28x28 -> scaled to [0, 1]") and not row.any()
    assert frame_ink(np.zeros((5, 5))) is None


def test_predictions_name_fashion_mnists_classes(tmp_path):
    np.save(tmp_path / "rows.npy", np.zeros((2, 784)))
    lines, sevens = [], lambda X: np.tile(np.eye(10)[7], (len(X), 1))
    predict_inputs(sevens, 784, [str(tmp_path / "rows.npy")], log=lines.append, trained_on="fashion-mnist")
    assert lines == [f"{tmp_path / 'rows.npy'}[{i}]: 7 Sneaker (p=1.000)" for i in range(2)]
    for saved, said in (("fashion-mnist", ": 7 Sneaker (p=1.000)"), ("mnist", ": 7 (p=1.000)"), ([], ": 7 (p=1.000)")):
        lines = []  # a model file's dataset, as the scripts give it (any value: the file is the user's)
        predict_saved(sevens, 784, "m.npz", saved, inputs=[str(tmp_path / "rows.npy")], log=lines.append)
        assert lines[0].endswith(said)  # MNIST's classes are the digits: their own names


def _digits_28x28():
    """scikit-learn's 8x8 digits made 28x28 digits framed as MNIST's: each upscaled, smoothly, then framed."""
    def framed(X):
        big = (np.asarray(Image.fromarray(np.float32(r.reshape(8, 8))).resize((40, 40), Image.BILINEAR)) for r in X)
        return np.float32([frame_ink(np.clip(b, 0, 1))[0].ravel() for b in big])
    return Dataset(*((framed(X), y) for X, y in load_digits_dataset().splits), name="digits28", image_shape=(28, 28))


def test_drawn_digits_are_predicted_right_framed_and_wrong_not(tmp_path, capsys):
    """The logistic regression on 28x28 digits framed as MNIST's: drawings small, large and off-centre in a 300x300
    canvas are all predicted right framed (p >= 0.88 each, as measured) and all wrong without framing (p of the
    right class <= 0.12). Measured by hand on 160 random drawings of 0, 1, 4 and 7: 100 % right framed, 11 % not."""
    model = tmp_path / "out" / "best_model.npz"
    logistic_sgd.run_logistic(_digits_28x28(), learning_rate=0.1, n_epochs=20, batch_size=20, output_dir=model.parent,
                              log=lambda *_: None)
    boxes = [(0, (20, 30, 90, 130)), (0, (200, 200, 260, 290)), (0, (100, 10, 180, 120)), (1, (20, 30, 40, 130)),
             (1, (230, 150, 250, 290)), (7, (20, 30, 90, 130)), (7, (150, 150, 280, 290)), (4, (180, 20, 250, 120))]
    files = [_drawn(tmp_path / f"{k}.png", digit, box) for k, (digit, box) in enumerate(boxes)]
    want = [digit for digit, _ in boxes]
    framed, _ = logistic_sgd.predict(model, inputs=files, log=lambda *_: None)  # framed: the default
    assert list(framed) == want
    arrays = np.load(model)
    unnormalised = lambda X: np.exp(X @ arrays["logreg.W"] + arrays["logreg.b"])  # noqa: E731 (the argmax is the same)
    unframed, _ = predict_saved(unnormalised, 784, model, "digits28", inputs=files, frame=False, log=lambda *_: None)
    assert not np.any(unframed == want), unframed
    for flags, framed_note in (([], True), (["--no-frame"], False)):  # the scripts' --predict, and --no-frame
        assert logistic_sgd.main(["--predict", str(files[0]), "--output-dir", str(model.parent), *flags]) == 0
        assert ("framed as MNIST" in capsys.readouterr().out) == framed_note


def test_rows_outside_0_1_reach_a_model_trained_on_such_rows_and_an_overflow_is_one_line(tmp_path):
    # logistic_sgd.py and mlp.py train on a user's own features in any range: predicting takes the same rows
    from autoencoders_tutorial.predict import array_rows

    np.save(tmp_path / "wide.npy", np.full((2, 3), 250.0))
    assert array_rows(tmp_path / "wide.npy", 3).max() == 250.0
    np.save(tmp_path / "huge.npy", np.full((2, 3), 1e300))
    with pytest.raises(DataError, match=r"huge.npy\[0\] gives the model non-finite outputs"):
        predict_inputs(lambda X: X.astype(np.float32), 3, [str(tmp_path / "huge.npy")], log=lambda *_: None)
