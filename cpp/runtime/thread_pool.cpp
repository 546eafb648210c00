// A small persistent thread pool; tasks are claimed, not assigned.
//
// parallel_for(n, fn) publishes a job; the caller and the workers claim task indices one at a
// time from a shared counter and run them, and the caller returns when all n are done. Which
// thread runs a task never changes what the task computes, so kernels that write disjoint
// outputs per task (and reduce in a fixed order inside a task) are bit-identical for every
// thread count. Claiming instead of a fixed split matters on a shared machine: a worker that
// the OS has descheduled simply claims nothing, and the caller never waits for it unless it is
// in the middle of a task. Workers spin (yielding, see below) on the job word for kSpinBeforeSleep
// before sleeping on a condition variable, so back-to-back kernels (a training step is ~10 of
// them, with Python in between) do not pay a futex wake. 5 ms, not the 200 us it was: on a
// shared host a vCPU that sleeps is handed to another tenant and comes back slow. Contended AMD
// EPYC Zen 3 guest, 2 threads, fresh processes alternating: GEMMs timed in 20 ms bursts after
// 0.1 s idle, (784x128)^T(128x512) 40-45 GFLOP/s at 200 us, 29-86 at 5 ms, 56-82 at 150 ms
// (fwd and dX alike); mnist-mlp steps against a numpy yardstick in the same process, 2.47-2.64
// at 200 us, 2.19-2.48 at 5 ms (4 of 4 pairs faster), 2.08-2.80 at 150 ms. Intel's OpenMP
// waits 200 ms by default, OpenBLAS ~0.1 s; 5 ms burns little after a call ends.
// Nested calls and calls while another thread owns the pool run inline.
//
// Every spin (a worker waiting for a job, the caller waiting for the workers' last tasks)
// yields the CPU after kSpinsBeforeYield pauses. On a shared or oversubscribed machine two
// pool threads can share one CPU; a pure PAUSE spin then holds the CPU for the rest of its
// time slice (~3 ms) while the thread it waits for cannot run. Measured on Zen 4, 2 threads,
// (128x784)(784x512), steady state of 60 calls in a fresh process: both threads pinned to one
// CPU (taskset -c 0) 48-57 GFLOP/s without yielding, 57-81 with the caller yielding only,
// 99-104 with both (one thread alone: ~105); with the 2 CPUs shared with other processes (load
// average 5-9), 21-95 without, 95-107 with, over 6 alternating fresh processes each. On an idle
// CPU sched_yield returns at once, so a waiter notices a job or a finished task at most ~1 us
// later.
//
// The job word packs (generation << 32 | next task). A claim is a CAS from (g, i) to (g, i + 1)
// with i < n: it can only succeed while job g is unfinished, so the job fields read around a
// successful claim are job g's (the owner rewrites them only after all of g's tasks are done,
// and the word never returns to an old value).
//
// Lifetime. The pool is created on first use and never destroyed: at interpreter exit a
// daemon thread may still be inside parallel_for, and destroying the pool under it (joinable
// std::threads, mutexes in use) would call std::terminate or race; the OS ends the workers
// with the process. After fork() only the forking thread exists in the child: the old pool's
// workers are gone and its mutexes may be held by threads that no longer exist, so the child
// abandons it (a pthread_atfork child handler) and the next call creates a fresh pool of the
// same size. The prepare/parent/child handlers hold g_pool_mu across fork, so the child never
// inherits it locked.
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
#include <system_error>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define LAMINA_HAVE_ATFORK 1
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

constexpr std::uint64_t kIndexMask = 0xFFFFFFFFull;
// Claim units per job are kept below 2^31; larger task counts are grouped contiguously.
constexpr std::int64_t kMaxUnits = std::int64_t(1) << 30;
// How long an idle worker spins on the job word before it sleeps (see the top of the file).
constexpr std::chrono::microseconds kSpinBeforeSleep{5000};
// Pauses a waiting thread spins before it starts yielding its CPU (about 4-10 us).
constexpr int kSpinsBeforeYield = 256;

inline void spin_or_yield(int i) {
  if (i < kSpinsBeforeYield)
    LAMINA_PAUSE();
  else
    std::this_thread::yield();
}

class Pool {
 public:
  explicit Pool(int n_threads) {
    try {
      start(n_threads);
    } catch (const std::runtime_error&) {  // the OS refused some threads: run with fewer
    }
  }
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
      run_inline(0, n_tasks, fn);
      return;
    }
    const std::int64_t units = n_tasks < kMaxUnits ? n_tasks : kMaxUnits;
    fn_.store(&fn, std::memory_order_relaxed);
    tasks_.store(n_tasks, std::memory_order_relaxed);
    units_.store(units, std::memory_order_relaxed);
    max_threads_.store(max_threads > 0 ? max_threads : n_threads_, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    fp_mode_.store(fp_mode(), std::memory_order_relaxed);
    error_ = nullptr;
    const std::uint64_t gen = (word_.load(std::memory_order_relaxed) >> 32) + 1;
    word_.store(gen << 32, std::memory_order_seq_cst);  // publishes the fields above
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lk(mu_); }
      cv_.notify_all();
    }
    claim_and_run(gen);
    for (int i = 0; done_.load(std::memory_order_acquire) != units; ++i) spin_or_yield(i);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static void run_inline(std::int64_t begin, std::int64_t end,
                         const std::function<void(std::int64_t)>& fn) {
    const bool was = t_inside_task;
    t_inside_task = true;
    try {
      for (std::int64_t t = begin; t < end; ++t) fn(t);
    } catch (...) {
      t_inside_task = was;
      throw;
    }
    t_inside_task = was;
  }

  // Claims and runs units of job `gen` until none is left (or the job changed).
  void claim_and_run(std::uint64_t gen) {
    for (;;) {
      std::uint64_t w = word_.load(std::memory_order_acquire);
      if ((w >> 32) != gen) return;
      const std::int64_t units = units_.load(std::memory_order_relaxed);
      const std::int64_t u = static_cast<std::int64_t>(w & kIndexMask);
      if (u >= units) return;
      if (!word_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel,
                                       std::memory_order_relaxed))
        continue;
      // The claim succeeded, so job `gen` is unfinished and its fields are stable.
      const std::int64_t n = tasks_.load(std::memory_order_relaxed);
      const auto* fn = fn_.load(std::memory_order_relaxed);
      const std::uint32_t mode = fp_mode_.load(std::memory_order_relaxed);
      if (fp_mode() != mode) set_fp_mode(mode);  // the caller's FTZ/DAZ/rounding
      try {
        run_inline(n * u / units, n * (u + 1) / units, *fn);
      } catch (...) {
        std::lock_guard<std::mutex> lk(err_mu_);
        if (!error_) error_ = std::current_exception();
      }
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  void worker(int index, std::uint64_t seen) {
    for (;;) {
      // Spin for a short while on the job word, then sleep.
      auto changed = [&] {
        return (word_.load(std::memory_order_seq_cst) >> 32) != seen || quit_.load();
      };
      bool got = false;
      const auto spin_until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
      for (int i = 0;; ++i) {
        if (changed()) {
          got = true;
          break;
        }
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > spin_until) break;
        spin_or_yield(i);
      }
      if (!got) {
        std::unique_lock<std::mutex> lk(mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        cv_.wait(lk, changed);
        sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      }
      if (quit_.load()) return;
      seen = word_.load(std::memory_order_acquire) >> 32;
      if (index + 1 < max_threads_.load(std::memory_order_relaxed)) claim_and_run(seen);
    }
  }

  void start(int n) {
    n_threads_ = n < 1 ? 1 : n;
    quit_.store(false);
    // `seen` is the generation before the threads exist, so a job posted before a new thread
    // first runs is not missed.
    const std::uint64_t gen = word_.load(std::memory_order_acquire) >> 32;
    try {
      for (int i = 0; i + 1 < n_threads_; ++i)
        workers_.emplace_back([this, i, gen] { worker(i, gen); });
    } catch (const std::system_error& e) {  // the OS refused a thread: keep those that exist
      const int wanted = n_threads_;
      n_threads_ = static_cast<int>(workers_.size()) + 1;
      throw std::runtime_error("could not start " + std::to_string(wanted) +
                               " threads (" + e.what() + "); using " +
                               std::to_string(n_threads_));
    }
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
  std::atomic<std::uint64_t> word_{0};  // generation << 32 | next unit
  std::atomic<int> sleepers_{0};
  std::atomic<bool> quit_{false};
  std::atomic<const std::function<void(std::int64_t)>*> fn_{nullptr};
  std::atomic<std::int64_t> tasks_{0};
  std::atomic<std::int64_t> units_{0};
  std::atomic<int> max_threads_{0};
  std::atomic<std::int64_t> done_{0};
  std::atomic<std::uint32_t> fp_mode_{0};
  std::mutex err_mu_;
  std::exception_ptr error_;
};

// A thread count from the environment: a whole number in [1, kMaxThreads], else 0.
// OMP_NUM_THREADS may list one count per nesting level ("4,2"): its first one counts, as in
// OpenMP.
int env_threads(const char* name, bool first_of_list) {
  const char* env = std::getenv(name);
  if (env == nullptr) return 0;
  char* end = nullptr;
  const long v = std::strtol(env, &end, 10);
  const bool ends = end != env && (*end == '\0' || (first_of_list && *end == ','));
  return ends && v >= 1 && v <= kMaxThreads ? static_cast<int>(v) : 0;
}

int default_threads() {
  // LAMINA_NUM_THREADS first; when it is unset (or invalid), OMP_NUM_THREADS, which joblib's
  // loky workers and Dask's nannies set to each worker's share of the cores.
  if (const int n = env_threads("LAMINA_NUM_THREADS", false)) return n;
  if (const int n = env_threads("OMP_NUM_THREADS", true)) return n;
  const int cores = usable_cores();
  return cores < kMaxThreads ? cores : kMaxThreads;
}

std::mutex g_pool_mu;       // guards g_pool and g_size
Pool* g_pool = nullptr;     // never deleted (see "Lifetime" above)
int g_size = 0;             // size of the next pool created (0: default_threads())

#if defined(LAMINA_HAVE_ATFORK)
void before_fork() { g_pool_mu.lock(); }
void after_fork_parent() { g_pool_mu.unlock(); }
void after_fork_child() {
  if (g_pool != nullptr) {
    g_size = g_pool->size();
    g_pool = nullptr;  // abandoned: its threads do not exist here, its mutexes may be held
  }
  g_pool_mu.unlock();
}
#endif

Pool& pool() {
  std::lock_guard<std::mutex> lk(g_pool_mu);
  if (g_pool == nullptr) {
#if defined(LAMINA_HAVE_ATFORK)
    static const bool registered =
        pthread_atfork(before_fork, after_fork_parent, after_fork_child) == 0;
    (void)registered;
#endif
    g_pool = new Pool(g_size > 0 ? g_size : default_threads());
  }
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
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("number of threads must be in [1, " +
                                std::to_string(kMaxThreads) + "], got " + std::to_string(n));
  Pool& p = pool();
  if (p.size() != n) p.resize(n);
}

void parallel_for(std::int64_t n_tasks, const std::function<void(std::int64_t)>& fn, int max_threads) {
  pool().run(n_tasks, fn, max_threads);
}

}  // namespace lamina
