package contacts

import (
	"errors"
	"regexp/syntax"
	"slices"
)

// digitDFA decides, for strings of ASCII digits only, what a Go regexp
// compiled from the same pattern decides with MatchString: a
// deterministic automaton over the ten digits, built once by subset
// construction from the pattern's compiled program (regexp/syntax, the
// parser and compiler package regexp itself uses).
//
// Matching a whole string against "^(?:p)$", or a prefix against
// "^(?:p)", asks only whether the string (or one of its prefixes) belongs
// to the pattern's language, not where a match starts or what it
// captures, so a DFA answers it exactly; it costs one table look-up per
// digit where the regexp engine runs a backtracker or an NFA.
type digitDFA struct {
	// next[s][d] is the state after digit d in state s; -1 is dead.
	next [][10]int32
	// match[s]: an InstMatch is reachable from s without reading more
	// input and without an end-of-text assertion (a prefix matched).
	match []bool
	// final[s]: a match is reachable from s at the end of the input.
	final []bool
}

// maxDFAStates bounds a DFA's size; a pattern that needs more is left to
// the regexp engine.
const maxDFAStates = 1 << 14

var errDFAUnsupported = errors.New("pattern not supported by the digit DFA")

// compileDigitDFA builds the DFA for pattern, parsed with the flags of
// regexp.Compile.
func compileDigitDFA(pattern string) (*digitDFA, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	b := dfaBuilder{prog: prog, index: map[string]int32{}}
	start, err := b.closure([]uint32{uint32(prog.Start)}, true)
	if err != nil {
		return nil, err
	}
	if _, err := b.state(start); err != nil {
		return nil, err
	}
	// Breadth-first over the states found so far.
	for s := 0; s < len(b.sets); s++ {
		var row [10]int32
		for d := range 10 {
			r := rune('0' + d)
			var moved []uint32
			for _, pc := range b.sets[s] {
				in := &prog.Inst[pc]
				switch in.Op {
				case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
					if in.MatchRune(r) {
						moved = append(moved, in.Out)
					}
				}
			}
			if len(moved) == 0 {
				row[d] = -1
				continue
			}
			set, err := b.closure(moved, false)
			if err != nil {
				return nil, err
			}
			if len(set) == 0 {
				row[d] = -1
				continue
			}
			if row[d], err = b.state(set); err != nil {
				return nil, err
			}
		}
		b.dfa.next[s] = row
	}
	return &b.dfa, nil
}

type dfaBuilder struct {
	prog  *syntax.Prog
	sets  [][]uint32 // the program counters of each state
	index map[string]int32
	dfa   digitDFA
}

// state returns the number of the state holding the program counters set,
// adding it when new.
func (b *dfaBuilder) state(set []uint32) (int32, error) {
	key := make([]byte, 0, 4*len(set))
	for _, pc := range set {
		key = append(key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	if s, ok := b.index[string(key)]; ok {
		return s, nil
	}
	if len(b.sets) >= maxDFAStates {
		return 0, errDFAUnsupported
	}
	s := int32(len(b.sets))
	b.index[string(key)] = s
	b.sets = append(b.sets, set)
	match, final := false, false
	for _, pc := range set {
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			match, final = true, true
		case syntax.InstEmptyWidth:
			// Pending end-of-text assertion: follow it at the end.
			end, err := b.closureAt([]uint32{in.Out}, false, true)
			if err != nil {
				return 0, err
			}
			for _, e := range end {
				if b.prog.Inst[e].Op == syntax.InstMatch {
					final = true
				}
			}
		}
	}
	b.dfa.next = append(b.dfa.next, [10]int32{})
	b.dfa.match = append(b.dfa.match, match)
	b.dfa.final = append(b.dfa.final, final)
	return s, nil
}

// closure follows the empty transitions from pcs, in the middle of the
// input (atStart says whether no digit has been read yet). It keeps the
// instructions that read a rune, InstMatch, and end-of-text assertions
// (decided at the end of the input).
func (b *dfaBuilder) closure(pcs []uint32, atStart bool) ([]uint32, error) {
	return b.closureAt(pcs, atStart, false)
}

// closureAt is closure, also at the end of the input when atEnd.
func (b *dfaBuilder) closureAt(pcs []uint32, atStart, atEnd bool) ([]uint32, error) {
	seen := make(map[uint32]bool)
	var out []uint32
	stack := slices.Clone(pcs)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[pc] {
			continue
		}
		seen[pc] = true
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstFail:
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, in.Out, in.Arg)
		case syntax.InstNop, syntax.InstCapture:
			stack = append(stack, in.Out)
		case syntax.InstMatch, syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			out = append(out, pc)
		case syntax.InstEmptyWidth:
			switch syntax.EmptyOp(in.Arg) {
			case syntax.EmptyBeginText, syntax.EmptyBeginLine:
				if !atStart {
					// Only the pattern's own leading '^' is
					// supported.
					return nil, errDFAUnsupported
				}
				stack = append(stack, in.Out)
			case syntax.EmptyEndText, syntax.EmptyEndLine:
				if atEnd {
					stack = append(stack, in.Out)
				} else {
					out = append(out, pc)
				}
			default:
				// Word boundaries and combined assertions: not
				// needed by phone metadata, not supported.
				return nil, errDFAUnsupported
			}
		default:
			return nil, errDFAUnsupported
		}
	}
	slices.Sort(out)
	return out, nil
}

// full reports whether the digits s, all of them, match.
func (d *digitDFA) full(s string) bool {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return false
		}
		if st = d.next[st][c]; st < 0 {
			return false
		}
	}
	return d.final[st]
}

// prefix reports whether some prefix of the digits s (the empty one
// included) matches: what MatchString says for a pattern anchored only at
// the start. A '$' inside the pattern makes that prefix all of s.
func (d *digitDFA) prefix(s string) bool {
	st := int32(0)
	for i := 0; ; i++ {
		if d.match[st] {
			return true
		}
		if i == len(s) {
			// A match that asserts the end of the text.
			return d.final[st]
		}
		c := s[i] - '0'
		if c > 9 {
			return false
		}
		if st = d.next[st][c]; st < 0 {
			return false
		}
	}
}
