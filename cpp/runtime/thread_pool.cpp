// A small persistent thread pool with static work split.
//
// parallel_for(n, fn) splits [0, n) into k = min(threads, n) contiguous chunks; chunk 0 runs on
// the caller, chunk i on worker i-1. Which thread runs a task never changes what the task
// computes, so kernels that write disjoint outputs per task are bit-identical for any thread
// count. Workers spin briefly on a generation counter before sleeping on a condition variable,
// so back-to-back kernels (a training step is ~10 of them) do not pay a futex wake each.
// Nested calls and calls while another thread owns the pool run inline. Every worker
// acknowledges every job, so the job fields are never rewritten while a worker may read them.
#include "lamina/runtime.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LAMINA_PAUSE() _mm_pause()
#else
#define LAMINA_PAUSE() std::this_thread::yield()
#endif

namespace lamina {
namespace {

thread_local bool t_inside_task = false;

class Pool {
 public:
  explicit Pool(int n_threads) { start(n_threads); }
  ~Pool() { stop(); }

  int size() const { return n_threads_; }

  void resize(int n) {
    std::lock_guard<std::mutex> own(owner_);
    stop();
    start(n);
  }

  void run(std::int64_t n_tasks, const std::function<void(std::int64_t)>& fn, int max_threads) {
    if (n_tasks <= 0) return;
    std::unique_lock<std::mutex> own(owner_, std::defer_lock);
    if (n_tasks == 1 || max_threads == 1 || n_threads_ == 1 || t_inside_task || !own.try_lock()) {
      run_inline(n_tasks, fn);
      return;
    }
    int k = n_threads_;
    if (max_threads > 0 && max_threads < k) k = max_threads;
    if (static_cast<std::int64_t>(k) > n_tasks) k = static_cast<int>(n_tasks);
    job_ = &fn;
    job_tasks_ = n_tasks;
    job_chunks_ = k;
    error_ = nullptr;
    // Every worker acknowledges every job (idle ones without work), so no worker can lag a
    // generation behind and read the next job's fields while they are being written.
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    run_chunk(0);
    while (pending_.load(std::memory_order_acquire) != 0) LAMINA_PAUSE();
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static void run_inline(std::int64_t n_tasks, const std::function<void(std::int64_t)>& fn) {
    const bool was = t_inside_task;
    t_inside_task = true;
    try {
      for (std::int64_t t = 0; t < n_tasks; ++t) fn(t);
    } catch (...) {
      t_inside_task = was;
      throw;
    }
    t_inside_task = was;
  }

  void run_chunk(int chunk) {
    const std::int64_t n = job_tasks_, k = job_chunks_;
    const std::int64_t begin = n * chunk / k, end = n * (chunk + 1) / k;
    t_inside_task = true;
    try {
      for (std::int64_t t = begin; t < end; ++t) (*job_)(t);
    } catch (...) {
      std::lock_guard<std::mutex> lk(err_mu_);
      if (!error_) error_ = std::current_exception();
    }
    t_inside_task = false;
  }

  // `seen` is the generation when the pool started: a worker thread that first runs after the
  // first job was published must still see that job as new (reading generation_ here would
  // skip it and leave the caller waiting on `pending_` forever).
  void worker(int index, std::uint64_t seen) {
    for (;;) {
      // Spin for a short while, then sleep.
      bool got = false;
      const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      for (int i = 0;; ++i) {
        if (generation_.load(std::memory_order_acquire) != seen || quit_.load()) {
          got = true;
          break;
        }
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > spin_until) break;
        LAMINA_PAUSE();
      }
      if (!got) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_.load() != seen || quit_.load(); });
      }
      if (quit_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      if (index + 1 < job_chunks_) run_chunk(index + 1);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void start(int n) {
    n_threads_ = n < 1 ? 1 : n;
    quit_.store(false);
    const std::uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int i = 0; i + 1 < n_threads_; ++i)
      workers_.emplace_back([this, i, gen] { worker(i, gen); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      quit_.store(true);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex owner_;  // held by the thread whose job the pool is running
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> quit_{false};
  std::atomic<int> pending_{0};
  const std::function<void(std::int64_t)>* job_ = nullptr;
  std::int64_t job_tasks_ = 0;
  int job_chunks_ = 0;
  std::mutex err_mu_;
  std::exception_ptr error_;
};

int default_threads() {
  if (const char* env = std::getenv("LAMINA_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 1024) return static_cast<int>(v);
  }
  return usable_cores();
}

std::mutex g_pool_mu;
std::unique_ptr<Pool> g_pool;

Pool& pool() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (!g_pool) g_pool = std::make_unique<Pool>(default_threads());
  return *g_pool;
}

}  // namespace

int usable_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("number of threads must be >= 1, got " + std::to_string(n));
  Pool& p = pool();
  if (p.size() != n) p.resize(n);
}

void parallel_for(std::int64_t n_tasks, const std::function<void(std::int64_t)>& fn, int max_threads) {
  pool().run(n_tasks, fn, max_threads);
}

}  // namespace lamina
