// Internal to cpp/ops/: the name <-> enum tables of activations, losses and metrics share
// one lookup. A table lists the canonical name of a value before its aliases ("mse"), so
// name_of returns the canonical one.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>

namespace lamina {
namespace ops_detail {

template <class E>
struct NamedValue {
  const char* name;
  E value;
};

// Sets *out (when out is not null) to the value named `name`; false for null or unknown names.
template <class E, std::size_t N>
bool parse_name(const NamedValue<E> (&table)[N], const char* name, E* out) {
  if (name == nullptr) return false;
  for (const auto& e : table) {
    if (std::strcmp(e.name, name) == 0) {
      if (out) *out = e.value;
      return true;
    }
  }
  return false;
}

// The first (canonical) name of `value`, or "unknown".
template <class E, std::size_t N>
const char* name_of(const NamedValue<E> (&table)[N], E value) {
  for (const auto& e : table)
    if (e.value == value) return e.name;
  return "unknown";
}

// "linear, sigmoid, silu (swish), ...": every canonical name in table order, its aliases in
// parentheses, for the "accepted: ..." part of error messages.
template <class E, std::size_t N>
std::string names_text(const NamedValue<E> (&table)[N]) {
  std::string s;
  for (std::size_t i = 0; i < N; ++i) {
    bool canonical = true;
    for (std::size_t j = 0; j < i; ++j)
      canonical = canonical && !(table[j].value == table[i].value);
    if (!canonical) continue;
    if (!s.empty()) s += ", ";
    s += table[i].name;
    std::string aliases;
    for (std::size_t j = i + 1; j < N; ++j)
      if (table[j].value == table[i].value)
        aliases += (aliases.empty() ? "" : ", ") + std::string(table[j].name);
    if (!aliases.empty()) s += " (" + aliases + ")";
  }
  return s;
}

}  // namespace ops_detail
}  // namespace lamina
