#pragma once
// Internal to core: a std::vector whose resize() leaves new trivial elements uninitialized.
// For large scratch and output arrays that are fully written right after: it saves a
// single-threaded zero-fill, and the pages are first touched by the parallel code that fills
// them.
#include <memory>
#include <vector>

namespace lagrad {

template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <class U>
  void construct(U* p) noexcept(noexcept(U())) {
    ::new (static_cast<void*>(p)) U;  // default-initialization: no zeroing for trivial types
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <class T>
using UninitVector = std::vector<T, DefaultInitAllocator<T>>;

}  // namespace lagrad
