// The fixed-order contract's named choices (DESIGN.md, "The two orders").
// Every result records these so two results are only compared under the same contract.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace lockstep {

enum class Order : uint8_t { Fixed, Free };
// muladd: precise multiply then precise add, two roundings. fma: one rounding per MAC.
enum class MacContract : uint8_t { MulAdd, Fma };
// preserve: IEEE denormals. ftz: every denormal result becomes a zero of the same sign.
enum class DenormRule : uint8_t { Preserve, Ftz };

struct NumericMode {
  Order order = Order::Fixed;
  MacContract mac = MacContract::MulAdd;
  DenormRule denorm = DenormRule::Preserve;

  bool fixed() const { return order == Order::Fixed; }
  bool operator==(const NumericMode&) const = default;
};

std::string_view to_string(Order o);
std::string_view to_string(MacContract c);
std::string_view to_string(DenormRule d);
// "fixed/muladd/preserve" or "free".
std::string describe(const NumericMode& m);

// Parse user-facing names; throw std::invalid_argument naming the accepted values.
Order parse_order(std::string_view s);
MacContract parse_contract(std::string_view s);
DenormRule parse_denorm(std::string_view s);

}  // namespace lockstep
