# Turns a .spv file into a C++ translation unit holding its 32-bit words
# (SPIR-V words are little-endian in the file).
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR words "${n} / 8")
string(REGEX REPLACE "([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])"
       "0x\\4\\3\\2\\1u," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f]+u,){12})" "\\1\n" body "${body}")
file(WRITE ${OUT} "// Generated from ${NAME}.spv\n#include <cstddef>\n#include <cstdint>\nnamespace lockstep::shaders {\nextern const uint32_t spv_${SYMBOL}[] = {\n${body}};\nextern const size_t spv_${SYMBOL}_words = ${words};\n}\n")
