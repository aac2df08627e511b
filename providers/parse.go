package providers

import (
	"fmt"
	"strconv"
	"strings"

	"colt/schedule"
)

// ParseResponse reads a model's answer: a JSON object {"transformations": [...], "next_model":
// "..."}. It is tolerant in form and strict in validity.
//
// Form: code fences and <think>…</think> blocks are dropped; prose around the object is
// allowed; the last object in the text that has a transformations or next_model key wins;
// trailing commas, missing commas, // and /* */ comments, single-quoted strings, bare keys and
// bare values are accepted; an object whose closing brace is missing, and a bare list of
// members without braces (the paper's example answer `"transformations": [...], "next_model":
// "..."`), are read as objects. The keys may be spelled "transformations", "transformation",
// "transforms" or "transform", and "next_model", "nextModel" or "next model".
//
// Validity: a transformation name matches a name of transformations ignoring case, spaces,
// underscores, hyphens, a "Mutate" prefix (MetaSchedule's class names), a module path and an
// argument list ("meta_schedule.MutateTileSize", "tile_size()", "Tile Size" → "TileSize"),
// or through a short list of common aliases ("tiling" → "TileSize", "compute_at" →
// "ComputeLocation"); never by loose similarity. A name that matches nothing is dropped and
// counted in InvalidTransformations. next_model matches a name of models exactly or ignoring
// case; otherwise InvalidNextModel is set and NextModel stays "" (no substitute is chosen).
//
// The error is non-nil only when the text holds no JSON object at all; the Response then still
// carries Raw.
func ParseResponse(text string, transformations, models []string) (Response, error) {
	resp := Response{Raw: text}
	obj, ok := findAnswer(text)
	if !ok {
		return resp, fmt.Errorf(`the answer holds no JSON object, want {"transformations": [...], "next_model": "..."}; it reads %q`, excerpt(text, 120))
	}
	if v, ok := obj.lookup(isTransformationsKey); ok {
		for _, name := range transformationNames(v) {
			if canon, ok := matchTransformation(name, transformations); ok {
				resp.Transformations = append(resp.Transformations, canon)
			} else {
				resp.InvalidTransformations++
			}
		}
	}
	resp.InvalidNextModel = true
	if v, ok := obj.lookup(isNextModelKey); ok {
		if s, ok := v.(string); ok {
			if m, ok := matchModel(s, models); ok {
				resp.NextModel = m
				resp.InvalidNextModel = false
			}
		}
	}
	return resp, nil
}

// transformationNames lists the names a transformations value proposes; an element that is not
// a string is kept as an empty name, so it counts as invalid.
func transformationNames(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if strings.TrimSpace(v) == "" {
			return nil
		}
		return strings.Split(v, ",")
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	default:
		return []string{""}
	}
}

// normName reduces a transformation name to the form names are compared in: no module path,
// argument list, "Mutate" prefix, case, spaces, underscores or hyphens.
func normName(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "`'\"")
	if i := strings.IndexByte(s, '('); i > 0 && strings.HasSuffix(s, ")") {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '\t':
			return -1
		}
		return r
	}, strings.ToLower(s))
	if t := strings.TrimPrefix(s, "mutate"); t != "" {
		s = t
	}
	return s
}

// aliasOf maps a normalized common alias to the transformation name it stands for ("" when
// it is not an alias). The list is short and explicit: names are never matched by similarity.
func aliasOf(norm string) string {
	switch norm {
	case "tile", "tiles", "tiling", "tilesizes", "sampleperfecttile", "perfecttile":
		return schedule.MutTileSize
	case "parallelize", "parallelise", "parallelization", "parallelisation", "parallelism":
		return schedule.MutParallel
	case "unrolling", "autounroll", "unrollloop", "unrollloops":
		return schedule.MutUnroll
	case "computeat", "reversecomputeat", "computelocations":
		return schedule.MutComputeLocation
	}
	return ""
}

// matchTransformation finds the canonical spelling of a proposed name in the vocabulary.
func matchTransformation(name string, vocab []string) (string, bool) {
	n := normName(name)
	if n == "" {
		return "", false
	}
	alias := normName(aliasOf(n))
	for _, v := range vocab {
		if nv := normName(v); nv == n || (alias != "" && nv == alias) {
			return v, true
		}
	}
	return "", false
}

// matchModel finds an allowed model name: exactly, or ignoring case and surrounding spaces.
func matchModel(name string, models []string) (string, bool) {
	name = strings.Trim(strings.TrimSpace(name), "`'\"")
	for _, m := range models {
		if m == name {
			return m, true
		}
	}
	if name == "" {
		return "", false
	}
	for _, m := range models {
		if strings.EqualFold(m, name) {
			return m, true
		}
	}
	return "", false
}

// normKey reduces a key for comparison: lower case, no spaces, underscores or hyphens.
func normKey(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(k)))
}

// isTransformationsKey reports whether a key names the transformation list.
func isTransformationsKey(k string) bool {
	switch normKey(k) {
	case "transformations", "transformation", "transforms", "transform":
		return true
	}
	return false
}

// isNextModelKey reports whether a key names the next model.
func isNextModelKey(k string) bool { return normKey(k) == "nextmodel" }

// isAnswerKey reports whether a key is one an answer object has.
func isAnswerKey(k string) bool { return isTransformationsKey(k) || isNextModelKey(k) }

// member is one key/value pair of a parsed object.
type member struct {
	key string
	val any
}

// object is a parsed JSON object with its members in text order.
type object []member

// lookup returns the value of the last member whose key satisfies match.
func (o object) lookup(match func(string) bool) (any, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if match(o[i].key) {
			return o[i].val, true
		}
	}
	return nil, false
}

// answerIn returns the first object, o itself or one nested in it (depth first), that has an
// answer key.
func (o object) answerIn() (object, bool) {
	for _, m := range o {
		if isAnswerKey(m.key) {
			return o, true
		}
	}
	for _, m := range o {
		if inner, ok := m.val.(object); ok {
			if a, ok := inner.answerIn(); ok {
				return a, true
			}
		}
	}
	return nil, false
}

// findAnswer finds the answer object in a model's text: the last object (braced, or a bare
// member list that starts with a quoted answer key) holding an answer key, else the last
// object of any kind.
func findAnswer(text string) (object, bool) {
	s := stripFences(stripThink(text))
	var frags []object
	for i := 0; i < len(s); {
		switch s[i] {
		case '{':
			p := &lenient{s: s, pos: i}
			if o, ok := p.object(); ok {
				frags = append(frags, o)
				i = max(p.pos, i+1)
				continue
			}
		case '"', '\'':
			p := &lenient{s: s, pos: i}
			if k, ok := p.str(); ok && isAnswerKey(k) {
				p.skip()
				if p.peek() == ':' {
					p.pos = i
					if o, ok := p.members(); ok {
						frags = append(frags, o)
						i = max(p.pos, i+1)
						continue
					}
				}
			}
		}
		i++
	}
	for i := len(frags) - 1; i >= 0; i-- {
		if a, ok := frags[i].answerIn(); ok {
			return a, true
		}
	}
	if len(frags) > 0 {
		return frags[len(frags)-1], true
	}
	return nil, false
}

// stripThink drops <think>…</think> blocks, where reasoning models muse (sometimes in JSON).
func stripThink(s string) string {
	for {
		i := strings.Index(s, "<think>")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "</think>")
		if j < 0 {
			return s
		}
		s = s[:i] + s[i+j+len("</think>"):]
	}
}

// stripFences replaces Markdown code fences (``` with an optional language tag) by spaces.
func stripFences(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "```")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteByte(' ')
		s = s[i+3:]
		j := 0
		for j < len(s) && (isWordByte(s[j]) || s[j] == '+') {
			j++
		}
		s = s[j:]
	}
}

// isWordByte reports whether c may appear in a bare key or value.
func isWordByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == '$' ||
		(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// lenient is a forgiving JSON reader positioned in s.
type lenient struct {
	s   string
	pos int
}

// peek returns the byte at the position, or 0 at the end.
func (p *lenient) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// skip moves past white space and comments.
func (p *lenient) skip() {
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		case strings.HasPrefix(p.s[p.pos:], "//"):
			if j := strings.IndexByte(p.s[p.pos:], '\n'); j >= 0 {
				p.pos += j + 1
			} else {
				p.pos = len(p.s)
			}
		case strings.HasPrefix(p.s[p.pos:], "/*"):
			if j := strings.Index(p.s[p.pos+2:], "*/"); j >= 0 {
				p.pos += j + 4
			} else {
				p.pos = len(p.s)
			}
		default:
			return
		}
	}
}

// object reads a braced object. A missing closing brace is tolerated when at least one member
// was read.
func (p *lenient) object() (object, bool) {
	if p.peek() != '{' {
		return nil, false
	}
	p.pos++
	p.skip()
	if p.peek() == '}' {
		p.pos++
		return object{}, true
	}
	return p.members()
}

// members reads key: value pairs up to a closing brace (consumed), the end of the text, or
// the first thing that is not a member; it fails when no member was read.
func (p *lenient) members() (object, bool) {
	var o object
	for {
		p.skip()
		switch p.peek() {
		case 0:
			return o, len(o) > 0
		case '}':
			p.pos++
			return o, len(o) > 0
		}
		save := p.pos
		k, ok := p.key()
		if ok {
			p.skip()
			ok = p.peek() == ':'
		}
		var v any
		if ok {
			p.pos++
			v, ok = p.value()
		}
		if !ok {
			p.pos = save
			return o, len(o) > 0
		}
		o = append(o, member{key: k, val: v})
		p.skip()
		if p.peek() == ',' {
			p.pos++
		}
	}
}

// key reads a quoted or bare key.
func (p *lenient) key() (string, bool) {
	switch c := p.peek(); {
	case c == '"' || c == '\'':
		return p.str()
	case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		return p.word(), true
	}
	return "", false
}

// word reads a bare word.
func (p *lenient) word() string {
	start := p.pos
	for p.pos < len(p.s) && isWordByte(p.s[p.pos]) {
		if p.s[p.pos] == ':' && start < p.pos && !isWordByteNoColon(p.s, p.pos+1) {
			break // "key:" ends the word; "host:8000" and "a::b" do not
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

// isWordByteNoColon reports whether the byte at i exists and continues a word.
func isWordByteNoColon(s string, i int) bool {
	return i < len(s) && isWordByte(s[i]) && s[i] != ':'
}

// value reads any value; bare words other than true, false and null are strings.
func (p *lenient) value() (any, bool) {
	p.skip()
	switch c := p.peek(); {
	case c == '"' || c == '\'':
		return p.str()
	case c == '[':
		return p.array()
	case c == '{':
		return p.object()
	case isWordByte(c) && c != ':':
		w := p.word()
		switch w {
		case "true":
			return true, true
		case "false":
			return false, true
		case "null":
			return nil, true
		}
		if f, err := strconv.ParseFloat(w, 64); err == nil {
			return f, true
		}
		return w, true
	}
	return nil, false
}

// array reads a bracketed list; commas may be missing or trailing.
func (p *lenient) array() ([]any, bool) {
	p.pos++ // '['
	out := []any{}
	for {
		p.skip()
		switch p.peek() {
		case 0:
			return nil, false
		case ']':
			p.pos++
			return out, true
		case ',':
			p.pos++
			continue
		}
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		out = append(out, v)
	}
}

// str reads a string quoted with " or ', with JSON escapes.
func (p *lenient) str() (string, bool) {
	q := p.peek()
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == q:
			p.pos++
			return b.String(), true
		case c == '\\' && p.pos+1 < len(p.s):
			e := p.s[p.pos+1]
			p.pos += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b', 'f':
			case 'u':
				if p.pos+4 <= len(p.s) {
					if r, err := strconv.ParseUint(p.s[p.pos:p.pos+4], 16, 32); err == nil {
						b.WriteRune(rune(r))
						p.pos += 4
						continue
					}
				}
				b.WriteString(`\u`)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", false
}

// excerpt shortens s to at most n bytes for an error message.
func excerpt(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
