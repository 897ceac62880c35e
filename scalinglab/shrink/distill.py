"""Knowledge distillation: train a small model on a large one's probabilities as well as the data.

Hinton et al. (2015) train the student on a mix of two targets: the data (the
ordinary cross-entropy) and the teacher's *softened* distribution, both models'
logits divided by a temperature ``T > 1``. Softening spreads the teacher's
probability over the bytes it thinks plausible but not likely, which says more
per example than the one observed byte does. The soft term's gradients shrink
as ``1/T²``, so it is multiplied by ``T²`` to keep the two terms' balance the
same whatever ``T``:

    loss = (1 − λ) · CE(data, student) + λ · T² · KL(teacher_T ‖ student_T)

in nats per byte. ``λ = 0`` is plain training; the KL is zero exactly when the
student's softened distribution equals the teacher's.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch
import torch.nn.functional as F

from scalinglab.model import GPT, GPTConfig
from scalinglab.shrink.common import check_gpt, model_size_bytes
from scalinglab.shrink.loop import train_loop
from scalinglab.train import TrainConfig


def soft_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
            temperature: float = 1.0) -> torch.Tensor:
    """Mean over positions of KL(teacher_T ‖ student_T), in nats (no T² factor)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    vocab = student_logits.size(-1)
    log_p_student = F.log_softmax(student_logits.float().reshape(-1, vocab) / temperature, -1)
    log_p_teacher = F.log_softmax(teacher_logits.float().reshape(-1, vocab) / temperature, -1)
    return F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      targets: torch.Tensor, temperature: float = 2.0, alpha: float = 0.5
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Hinton et al. (2015)'s objective; returns (loss, data cross-entropy), both in nats.

    ``alpha`` is λ, the weight on the teacher's term; ``temperature`` is T.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha (the teacher's weight λ) must be in [0, 1], got {alpha!r}")
    vocab = student_logits.size(-1)
    data_ce = F.cross_entropy(student_logits.float().reshape(-1, vocab), targets.reshape(-1))
    if alpha == 0.0:
        return data_ce, data_ce
    kl = soft_kl(student_logits, teacher_logits, temperature)
    return (1.0 - alpha) * data_ce + alpha * temperature**2 * kl, data_ce


def distill(
    student_config: GPTConfig,
    teacher: GPT,
    corpus: Any,
    train_config: TrainConfig | None = None,
    *,
    temperature: float = 2.0,
    alpha: float = 0.5,
    device: str | torch.device = "cpu",
    num_threads: int | None = None,
) -> tuple[GPT, dict]:
    """Train a fresh student of ``student_config`` on ``corpus`` with ``teacher``'s help.

    The student is initialised from ``train_config.seed`` exactly as
    :func:`scalinglab.train.train_model` would initialise it, and trained with
    the same schedule and optimiser, so any difference from plain training is the
    teacher's doing. The teacher is frozen. Returns the student and a record
    (val_bpb, loss_curve of the data cross-entropy in bits per byte, size_bytes,
    temperature, alpha, ...).
    """
    check_gpt(teacher, "distill")
    cfg = train_config or TrainConfig()
    if teacher.config.seq_len < student_config.seq_len:
        raise ValueError(f"the teacher reads {teacher.config.seq_len} bytes at a time, fewer "
                         f"than the student's seq_len={student_config.seq_len}; give the "
                         "student a seq_len no longer than the teacher's")
    if teacher.config.vocab_size != student_config.vocab_size:
        raise ValueError(f"teacher vocab_size={teacher.config.vocab_size} differs from the "
                         f"student's {student_config.vocab_size}; they must predict the same bytes")
    wall_start = time.perf_counter()
    device = torch.device(device)
    frozen = copy.deepcopy(teacher).to(device).eval()
    frozen.requires_grad_(False)

    def loss_fn(student: GPT, x: torch.Tensor, y: torch.Tensor):
        student_logits, _ = student(x)
        if alpha == 0.0:  # plain training: no need to run the teacher
            return distillation_loss(student_logits, student_logits, y, temperature, alpha)
        with torch.no_grad():
            teacher_logits, _ = frozen(x)
        return distillation_loss(student_logits, teacher_logits, y, temperature, alpha)

    torch.manual_seed(cfg.seed)  # the same initial weights as train_model's for this seed
    student = GPT(student_config)
    record = train_loop(student, corpus, cfg, loss_fn=loss_fn, device=device,
                        num_threads=num_threads)
    record.update({"method": "distillation", "temperature": temperature, "alpha": alpha,
                   "n_params": student.n_params(non_embedding=False),
                   "size_bytes": model_size_bytes(student),
                   "teacher_n_params": teacher.n_params(non_embedding=False),
                   "wall_s": time.perf_counter() - wall_start})
    return student, record
