"""Independent reference for dtrain's BERT, assembled from PyTorch's own modules.

The encoder is nn.TransformerEncoderLayer (post-norm, batch_first), which is the same architecture as a
Hugging Face BERT layer but shares no code with dtrain: agreement of the two on the same weights checks
dtrain's attention, masking, activation, residual/LayerNorm order, pooler, classifier and loss.

Usage: reference_bert.py CASE_DIR...   (run with Debian's python3, which has torch)
Each CASE_DIR holds config.json (Hugging Face format), manifest.json ({name: {"dtype", "shape"}}) and
<name>.bin raw little-endian tensors: the model's parameters under Hugging Face names plus input_ids,
attention_mask, token_type_ids and optionally labels. The script writes logits.bin and, when labels
are given, loss.json ({"loss": value}) and each parameter's gradient as grad.<name>.bin into each
CASE_DIR.
"""
import json
import math
import pathlib
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# transformers.activations.ACT2FN, written out from the published formulas.
ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_python": lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))),
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
    "gelu_accurate": lambda x: 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * torch.pow(x, 3)))),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_fast": lambda x: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
    "gelu_10": lambda x: torch.clip(F.gelu(x), -10, 10),
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "laplace": lambda x: 0.5 * (1.0 + torch.erf((x - 0.707107).div(0.282095 * math.sqrt(2.0)))),
    "relu": "relu",
    "relu6": nn.ReLU6(),
    "relu2": lambda x: torch.square(F.relu(x)),
    "leaky_relu": nn.LeakyReLU(),
    "silu": F.silu,
    "swish": lambda x: x * torch.sigmoid(x),
    "mish": lambda x: x * torch.tanh(F.softplus(x)),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "linear": lambda x: x,
}


class ReferenceBert(nn.Module):
    """BERT for sequence classification from nn.Embedding, nn.TransformerEncoderLayer and nn.Linear."""

    def __init__(self, config, dropout=0.0):
        super().__init__()
        hidden = config["hidden_size"]
        eps = config.get("layer_norm_eps", 1e-12)
        self.word = nn.Embedding(config["vocab_size"], hidden, padding_idx=config.get("pad_token_id", 0))
        self.position = nn.Embedding(config.get("max_position_embeddings", 512), hidden)
        self.token_type = nn.Embedding(config.get("type_vocab_size", 2), hidden)
        self.embedding_norm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(hidden, config["num_attention_heads"], config["intermediate_size"], dropout,
                                       ACTIVATIONS[config.get("hidden_act", "gelu")], layer_norm_eps=eps,
                                       batch_first=True, norm_first=False)
            for _ in range(config["num_hidden_layers"]))
        self.pooler = nn.Linear(hidden, hidden)
        self.num_labels = len(config["id2label"]) if "id2label" in config else config.get("num_labels", 2)
        self.classifier = nn.Linear(hidden, self.num_labels)

    def hugging_face_parameters(self):
        """{Hugging Face BertForSequenceClassification name: (parameter, slice)}; the slice selects
        query/key/value rows of the fused in_proj parameters and is None elsewhere."""
        names = {
            "bert.embeddings.word_embeddings.weight": self.word.weight,
            "bert.embeddings.position_embeddings.weight": self.position.weight,
            "bert.embeddings.token_type_embeddings.weight": self.token_type.weight,
        }
        modules = {"bert.embeddings.LayerNorm": self.embedding_norm, "bert.pooler.dense": self.pooler,
                   "classifier": self.classifier}
        for index, layer in enumerate(self.layers):
            prefix = f"bert.encoder.layer.{index}."
            modules.update({f"{prefix}attention.output.dense": layer.self_attn.out_proj,
                            f"{prefix}attention.output.LayerNorm": layer.norm1,
                            f"{prefix}intermediate.dense": layer.linear1,
                            f"{prefix}output.dense": layer.linear2,
                            f"{prefix}output.LayerNorm": layer.norm2})
        mapping = {name: (parameter, None) for name, parameter in names.items()}
        for prefix, module in modules.items():
            for kind in ("weight", "bias"):
                mapping[f"{prefix}.{kind}"] = (getattr(module, kind), None)
        for index, layer in enumerate(self.layers):
            hidden = layer.self_attn.embed_dim
            for part_index, part in enumerate(("query", "key", "value")):
                rows = slice(part_index * hidden, (part_index + 1) * hidden)
                for kind in ("weight", "bias"):
                    mapping[f"bert.encoder.layer.{index}.attention.self.{part}.{kind}"] = (
                        getattr(layer.self_attn, f"in_proj_{kind}"), rows)
        return mapping

    @torch.no_grad()
    def load_hugging_face_tensors(self, tensors):
        """Copies weights stored under Hugging Face names; every parameter must be given exactly once."""
        mapping = self.hugging_face_parameters()
        if set(tensors) != set(mapping):
            raise KeyError(f"unknown: {sorted(set(tensors) - set(mapping))}, "
                           f"missing: {sorted(set(mapping) - set(tensors))}")
        for name, (parameter, rows) in mapping.items():
            (parameter if rows is None else parameter[rows]).copy_(tensors[name])

    def hugging_face_gradients(self):
        return {name: (parameter.grad if rows is None else parameter.grad[rows])
                for name, (parameter, rows) in self.hugging_face_parameters().items()}

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.word(input_ids) + self.token_type(token_type_ids) + self.position(positions)
        x = self.dropout(self.embedding_norm(x))
        padding = attention_mask == 0
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.dropout(pooled))

    def loss(self, logits, labels):
        """Hugging Face's problem-type rule for BertForSequenceClassification."""
        if self.num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze())
        if labels.dtype in (torch.long, torch.int):
            return F.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return F.binary_cross_entropy_with_logits(logits, labels)


def read_case(case_dir):
    manifest = json.loads((case_dir / "manifest.json").read_text())
    return {name: torch.from_numpy(np.fromfile(case_dir / f"{name}.bin", dtype=entry["dtype"])
                                   .reshape(entry["shape"]))
            for name, entry in manifest.items()}


def run_case(case_dir):
    config = json.loads((case_dir / "config.json").read_text())
    tensors = read_case(case_dir)
    inputs = [tensors.pop(name) for name in ("input_ids", "attention_mask", "token_type_ids")]
    labels = tensors.pop("labels", None)
    model = ReferenceBert(config)
    model.load_hugging_face_tensors(tensors)
    model.eval()
    logits = model(*inputs)
    logits.detach().numpy().astype("<f4").tofile(case_dir / "logits.bin")
    if labels is not None:
        loss = model.loss(logits, labels)
        loss.backward()
        (case_dir / "loss.json").write_text(json.dumps({"loss": loss.item()}))
        for name, gradient in model.hugging_face_gradients().items():
            gradient.numpy().astype("<f4").tofile(case_dir / f"grad.{name}.bin")


if __name__ == "__main__":
    torch.set_num_threads(1)
    for argument in sys.argv[1:]:
        run_case(pathlib.Path(argument))
