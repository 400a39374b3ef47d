"""build_service(settings): the one place where concrete adapters are chosen and assembled."""

from __future__ import annotations

import logging

from memsvc.config import EmbedSettings, Settings
from memsvc.embed.base import Embedder
from memsvc.embed.cache import CachedEmbedder
from memsvc.errors import ConfigError
from memsvc.index.sync import IndexSync
from memsvc.service.facade import MemoryService
from memsvc.store import migrate
from memsvc.store.db import check_connection, make_engine, make_sessionmaker
from memsvc.store.vectors import SqlVectorCache

__all__ = ["build_service", "make_embedder"]

logger = logging.getLogger(__name__)


def make_embedder(cfg: EmbedSettings) -> Embedder:
    """The configured embedding model (not yet cached)."""
    if cfg.backend == "hashing":
        from memsvc.embed.hashing import HashingEmbedder

        return HashingEmbedder(cfg.dim)
    if cfg.backend == "sentence_transformers":
        from memsvc.embed.sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(cfg)
    if cfg.backend in ("onnx", "static"):
        from memsvc.embed.registry import built_embedder

        return built_embedder(cfg)
    if cfg.backend == "litellm":
        from memsvc.embed.litellm import LiteLLMEmbedder

        return LiteLLMEmbedder(cfg)
    raise ConfigError(f"unknown embedder backend {cfg.backend!r}")


def _limit_search_threads() -> None:
    """One thread inside FAISS and inside NumPy's BLAS: a search runs many tiny products
    (one query against a user's vectors) on many request threads at once, where a second
    thread per product only adds hand-off and spinning. Measured: a 10k flat search took 63 ms
    under load with 2 OpenMP threads instead of 3.6 ms; at 100k memories one search took p50
    5.65 ms with NumPy's 2 BLAS threads and 5.48 ms with one (1,080 searches alternating in
    blocks, ``benchmarks/read_path_parts.py``): small, but not worse in any run. The cap is
    process-wide, so an application embedding ``Memory`` gets one BLAS thread too; the
    embedding model's own threads (torch) are left as they are."""
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss is a hard dependency
        return
    faiss.omp_set_num_threads(1)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def build_service(
    settings: Settings, *, migrate_db: bool | None = None, start_worker: bool | None = None
) -> MemoryService:
    """Assemble a :class:`MemoryService` from settings.

    Args:
        settings: the whole configuration.
        migrate_db: run the migrations to head first. Default: on for SQLite (the embedded
            default must work with one command), off for PostgreSQL, where ``memsvc db
            upgrade`` runs as its own step.
        start_worker: run the consolidation worker thread in this process. Default:
            ``settings.consolidation.enabled and settings.consolidation.in_process_worker``.
    Raises:
        StoreUnavailable: the database cannot be reached.
        ConfigError: a backend cannot be loaded.
    """
    _limit_search_threads()
    engine = make_engine(settings.db)
    check_connection(engine)
    is_sqlite = engine.dialect.name == "sqlite"
    if migrate_db if migrate_db is not None else is_sqlite:
        migrate.upgrade(settings.db)
    sessions = make_sessionmaker(engine)
    reads = make_sessionmaker(engine, is_read_only=True)
    embedder = CachedEmbedder(
        make_embedder(settings.embed),
        capacity=settings.embed.cache_size,
        store=SqlVectorCache(reads.begin),
    )
    indexes = IndexSync(settings.index, begin=sessions.begin, read=reads.begin, embedder=embedder)
    from memsvc.llm.registry import make_llm

    llm = make_llm(settings.llm, embedder=embedder)
    service = MemoryService(
        settings=settings,
        begin=sessions.begin,
        read=reads.begin,
        embedder=embedder,
        indexes=indexes,
        llm=llm,
        engine=engine,
    )
    cfg = settings.consolidation
    run_worker = (
        start_worker if start_worker is not None else (cfg.enabled and cfg.in_process_worker)
    )
    if run_worker:
        service.start_worker()
    logger.info(
        "memory service ready: db=%s embedder=%s llm=%s worker=%s",
        engine.dialect.name,
        embedder.model_id,
        llm.name,
        run_worker,
    )
    return service
