"""Log-mel front end of the audio expert (VGGish recipe), in torch.

16 kHz mono float waveform -> magnitude STFT (25 ms periodic Hann window,
10 ms hop, 512-point FFT, no padding) -> 64 mel bands from 125 to 7500 Hz
(HTK mel scale, triangular filters) -> ``log(mel + 0.01)`` -> non-overlapping
examples of 96 frames (0.96 s), shape (n_examples, 1, 96, 64).

Number of examples: a waveform of d seconds gives ``max(1, floor(d / 0.96))``
examples (none for an empty waveform). The tail is padded with silence by
at most one window (plus, for a waveform shorter than 0.96 s, up to one
example) so that every started 0.96 s block's frames are complete.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

__all__ = ["SAMPLE_RATE", "EXAMPLE_FRAMES", "N_MELS", "mel_matrix", "mel_band_centres_hz", "log_mel_spectrogram",
           "n_examples", "waveform_to_examples"]

SAMPLE_RATE = 16000
WINDOW = 400  # 25 ms
HOP = 160  # 10 ms
N_FFT = 2 ** math.ceil(math.log2(WINDOW))  # 512
N_MELS = 64
F_MIN, F_MAX = 125.0, 7500.0
LOG_OFFSET = 0.01
EXAMPLE_FRAMES = 96
EXAMPLE_SAMPLES = EXAMPLE_FRAMES * HOP  # 15360 = 0.96 s


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


@lru_cache(maxsize=4)
def mel_matrix(sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS,
               f_min: float = F_MIN, f_max: float = F_MAX) -> torch.Tensor:
    """Triangular HTK-mel filter bank, shape (n_fft // 2 + 1, n_mels)."""
    n_bins = n_fft // 2 + 1
    bins_mel = _hz_to_mel(np.linspace(0.0, sample_rate / 2.0, n_bins))
    edges = np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0  # the DC bin feeds no band
    return torch.from_numpy(weights.astype(np.float32))


def mel_band_centres_hz(n_mels: int = N_MELS, f_min: float = F_MIN, f_max: float = F_MAX) -> np.ndarray:
    """Centre frequency (Hz) of each mel band, shape (n_mels,)."""
    edges = np.linspace(_hz_to_mel(f_min), _hz_to_mel(f_max), n_mels + 2)
    return 700.0 * np.expm1(edges[1:-1] / 1127.0)


def _check(wave: np.ndarray | torch.Tensor, sample_rate: int) -> torch.Tensor:
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"audio front end expects {SAMPLE_RATE} Hz, got {sample_rate} Hz; resample when decoding")
    if not isinstance(wave, torch.Tensor):
        array = np.asarray(wave, dtype=np.float32)
        wave = torch.from_numpy(array if array.flags.writeable else array.copy())
    x = wave.float()
    if x.ndim != 1:
        raise ValueError(f"expected a mono waveform of shape (n_samples,), got {tuple(x.shape)}")
    return x


def log_mel_spectrogram(wave: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Log-mel frames of a waveform.

    Parameters
    ----------
    wave : array of shape (n_samples,)
        Mono, float in [-1, 1], at 16 kHz.

    Returns
    -------
    Tensor of shape (1 + (n_samples - 400) // 160, 64)
        ``log(mel + 0.01)``; zero rows when the waveform is shorter than a window.
    """
    x = _check(wave, sample_rate)
    if x.numel() < WINDOW:
        return torch.zeros(0, N_MELS)
    frames = x.unfold(0, WINDOW, HOP)  # (F, 400)
    window = torch.hann_window(WINDOW, periodic=True, dtype=frames.dtype, device=frames.device)
    magnitude = torch.fft.rfft(frames * window, n=N_FFT).abs()  # (F, 257)
    mel = magnitude @ mel_matrix().to(magnitude.device)
    return torch.log(mel + LOG_OFFSET)


def n_examples(n_samples: int, sample_rate: int = SAMPLE_RATE) -> int:
    """Examples a waveform of ``n_samples`` gives: ``max(1, floor(d / 0.96))``, 0 when empty."""
    if n_samples <= 0:
        return 0
    return max(1, n_samples // int(round(EXAMPLE_SAMPLES * sample_rate / SAMPLE_RATE)))


def waveform_to_examples(wave: np.ndarray | torch.Tensor, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """A clip's waveform -> VGGish input examples.

    Returns
    -------
    Tensor of shape (n_examples(len(wave)), 1, 96, 64), float32
    """
    x = _check(wave, sample_rate)
    k = n_examples(x.numel(), sample_rate)
    if k == 0:
        return torch.zeros(0, 1, EXAMPLE_FRAMES, N_MELS)
    needed = WINDOW + (k * EXAMPLE_FRAMES - 1) * HOP
    if x.numel() < needed:
        x = torch.nn.functional.pad(x, (0, needed - x.numel()))
    logmel = log_mel_spectrogram(x[:needed], sample_rate)  # (k * 96, 64)
    return logmel.reshape(k, 1, EXAMPLE_FRAMES, N_MELS).contiguous()
