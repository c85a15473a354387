#include "numerics/contract.hpp"

#include <stdexcept>

namespace lockstep {

std::string_view to_string(Order o) { return o == Order::Fixed ? "fixed" : "free"; }
std::string_view to_string(MacContract c) { return c == MacContract::MulAdd ? "muladd" : "fma"; }
std::string_view to_string(DenormRule d) { return d == DenormRule::Preserve ? "preserve" : "ftz"; }

std::string describe(const NumericMode& m) {
  if (!m.fixed()) return "free";
  return std::string("fixed/") + std::string(to_string(m.mac)) + "/" + std::string(to_string(m.denorm));
}

Order parse_order(std::string_view s) {
  if (s == "fixed") return Order::Fixed;
  if (s == "free") return Order::Free;
  throw std::invalid_argument("order '" + std::string(s) + "' is not one of: fixed, free");
}
MacContract parse_contract(std::string_view s) {
  if (s == "muladd") return MacContract::MulAdd;
  if (s == "fma") return MacContract::Fma;
  throw std::invalid_argument("contract '" + std::string(s) + "' is not one of: muladd, fma");
}
DenormRule parse_denorm(std::string_view s) {
  if (s == "preserve") return DenormRule::Preserve;
  if (s == "ftz") return DenormRule::Ftz;
  throw std::invalid_argument("denormal rule '" + std::string(s) + "' is not one of: preserve, ftz");
}

}  // namespace lockstep
