"""Python's str semantics for every assigned code point, for tests/metrics (python_text.h).

usage: python_text_reference.py OUT.txt

One line per code point that Python's Unicode database assigns (surrogates excepted):
  <code> <str.lower() of it, as code points joined by ","> <isspace 0/1> <three 0/1 flags>
The flags say whether capital sigma lowers to final sigma in "A<c>Σ", "<c>Σ" and "AΣ<c>": together
they pin down the Cased and Case_Ignorable properties str.lower() uses for Final_Sigma.
"""
import sys
import unicodedata

FINAL = "\u03c2"


def flags(c):
    # Where the sigma under test lands in each lowered context.
    contexts = (("A" + c + "\u03a3", -1), (c + "\u03a3", -1), ("A\u03a3" + c, 1))
    return " ".join("1" if text.lower()[at] == FINAL else "0" for text, at in contexts)


def main():
    with open(sys.argv[1], "w", encoding="ascii") as out:
        for code in range(0x110000):
            c = chr(code)
            category = unicodedata.category(c)
            if category in ("Cn", "Cs"):
                continue
            lowered = ",".join(f"{ord(x):x}" for x in c.lower())
            out.write(f"{code:x} {lowered} {int(c.isspace())} {flags(c)}\n")


if __name__ == "__main__":
    main()
