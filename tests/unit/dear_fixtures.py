"""Tiny real models for the DeAR tests: a byte-level BPE tokenizer and a random-weight Llama (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

CORPUS = [
    "query: what causes fever document: Fever is caused by infection and inflammation.",
    "Paris is the capital of France. The Eiffel tower is in Paris.",
    "Photosynthesis converts light into chemical energy in plants.",
    "<think> passage [2] answers the query </think> [2] > [1] > [3] > [5] > [4]",
    "Rank the passages based on their relevance to the search query. Search Query:",
    "I will provide you with 5 passages, each indicated by a numerical identifier [].",
    "You are RankLLM, an assistant that ranks passages by relevance to the query.",
]

TRIPLES = [
    {"query": "what causes fever", "positive": "Fever is caused by infection.", "negative": "Paris is in France."},
    {"query": "what causes fever", "positive": "Inflammation raises body heat.", "negative": "Plants use light."},
    {"query": "capital of france", "positive": "Paris is the capital of France.", "negative": "Fever is hot."},
    {"query": "how do plants eat", "positive": "Photosynthesis feeds plants.", "negative": "The tower is tall."},
]


def reasoning_rows() -> list[dict]:
    docs = [
        "Fever is caused by infection.",
        "Paris is in France.",
        "Plants use light.",
        "Inflammation raises heat.",
        "The tower is tall.",
    ]
    return [
        {
            "query": "what causes fever",
            "unsorted_docs": str(docs),
            "scores": "['0'] * 5",
            "reason": "[1] > [4] > [3] > [2] > [5]\n\nReasoning: [1] names the cause; [4] is related.",
        },
        {
            "query": "capital of france",
            "unsorted_docs": str(docs),
            "reason": "The ranking is:\n[2] > [5] > [1] > [3] > [4]\nBecause [2] names Paris.",
        },
        {"query": "bad row", "unsorted_docs": str(docs), "reason": "[1] > [1] > [2]"},
    ]


def make_tokenizer(folder: Path):  # noqa: ANN201
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=420,
        special_tokens=["<pad>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 3, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", eos_token="<|im_end|>", bos_token="<|im_start|>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(str(folder))
    return fast


def llama_config(vocab_size: int, pad_id: int, **kw):  # noqa: ANN201
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=pad_id,
        tie_word_embeddings=True,
        **kw,
    )


def make_base(folder: Path) -> Path:
    """A random-weight LlamaForCausalLM with its tokenizer saved in ``folder``."""
    import torch
    from transformers import LlamaForCausalLM

    tok = make_tokenizer(folder)
    torch.manual_seed(0)
    model = LlamaForCausalLM(llama_config(len(tok), tok.pad_token_id, eos_token_id=tok.eos_token_id))
    model.save_pretrained(str(folder))
    return folder


def write_training_data(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    triples = folder / "triples.jsonl"
    triples.write_text("".join(json.dumps(r) + "\n" for r in TRIPLES))
    reasoning = folder / "reasoning"
    reasoning.mkdir(exist_ok=True)
    (reasoning / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reasoning_rows()))
    return {"triples": triples, "reasoning": reasoning}
