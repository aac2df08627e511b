package workloads

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token of the tensor-expression language.
type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tInt
	tFloat
	tLBrack
	tRBrack
	tLParen
	tRParen
	tComma
	tPlus
	tMinus
	tStar
	tSlash
	tPercent
	tLT
	tLE
	tGT
	tGE
	tEQ
	tNE
	tAnd
	tOr
	tNot
	tAssign
	tPlusAssign
)

// symbol is how a punctuation or operator token is written.
func symbol(k tokKind) string {
	switch k {
	case tLBrack:
		return "["
	case tRBrack:
		return "]"
	case tLParen:
		return "("
	case tRParen:
		return ")"
	case tComma:
		return ","
	case tPlus:
		return "+"
	case tMinus:
		return "-"
	case tStar:
		return "*"
	case tSlash:
		return "/"
	case tPercent:
		return "%"
	case tLT:
		return "<"
	case tLE:
		return "<="
	case tGT:
		return ">"
	case tGE:
		return ">="
	case tEQ:
		return "=="
	case tNE:
		return "!="
	case tAnd:
		return "&&"
	case tOr:
		return "||"
	case tNot:
		return "!"
	case tAssign:
		return "="
	case tPlusAssign:
		return "+="
	}
	return "?"
}

// maxTokens bounds the length of one stage or size expression; real ones are far shorter.
const maxTokens = 10000

// token is one lexical token; pos is its byte offset in the source text.
type token struct {
	kind tokKind
	text string
	pos  int
	i    int64   // value of a tInt
	f    float64 // value of a tInt or tFloat
}

// posError is a problem at a position of a source text; callers add which text it was.
type posError struct {
	src string
	pos int
	msg string
}

func (e *posError) Error() string {
	return fmt.Sprintf("syntax error at column %d: %s", column(e.src, e.pos), e.msg)
}

// column is the 1-based character column of byte offset pos in src.
func column(src string, pos int) int {
	if pos > len(src) {
		pos = len(src)
	}
	if pos < 0 {
		pos = 0
	}
	return utf8.RuneCountInString(src[:pos]) + 1
}

func isLetter(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// lex splits src into tokens, ending with a tEOF token.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		if len(toks) > maxTokens {
			return nil, &posError{src, i, fmt.Sprintf("text too long (more than %d tokens)", maxTokens)}
		}
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isLetter(c):
			j := i + 1
			for j < len(src) && (isLetter(src[j]) || isDigit(src[j])) {
				j++
			}
			toks = append(toks, token{kind: tIdent, text: src[i:j], pos: i})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			t, err := lexNumber(src, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i += len(t.text)
		default:
			kind, n := lexSymbol(src[i:])
			if n == 0 {
				r, _ := utf8.DecodeRuneInString(src[i:])
				msg := fmt.Sprintf("unexpected character %q", r)
				switch c {
				case '&':
					msg += " (did you mean &&?)"
				case '|':
					msg += " (did you mean ||?)"
				}
				return nil, &posError{src, i, msg}
			}
			toks = append(toks, token{kind: kind, text: src[i : i+n], pos: i})
			i += n
		}
	}
	return append(toks, token{kind: tEOF, pos: len(src)}), nil
}

// lexNumber reads an integer (123) or float (1.5, .5, 1e-5, 2.) literal starting at i.
func lexNumber(src string, i int) (token, error) {
	j := i
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	isFloat := false
	if j < len(src) && src[j] == '.' {
		isFloat = true
		j++
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			isFloat = true
			for k < len(src) && isDigit(src[k]) {
				k++
			}
			j = k
		}
	}
	if j < len(src) && isLetter(src[j]) {
		k := j
		for k < len(src) && (isLetter(src[k]) || isDigit(src[k])) {
			k++
		}
		return token{}, &posError{src, i, fmt.Sprintf("malformed number %q", src[i:k])}
	}
	text := src[i:j]
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return token{}, &posError{src, i, fmt.Sprintf("number %s is out of range", text)}
		}
		return token{kind: tFloat, text: text, pos: i, f: f}, nil
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return token{}, &posError{src, i, fmt.Sprintf("integer %s is too large", text)}
	}
	return token{kind: tInt, text: text, pos: i, i: v, f: float64(v)}, nil
}

// lexSymbol recognises an operator or punctuation at the start of s and returns its length.
func lexSymbol(s string) (tokKind, int) {
	if len(s) >= 2 {
		switch s[:2] {
		case "<=":
			return tLE, 2
		case ">=":
			return tGE, 2
		case "==":
			return tEQ, 2
		case "!=":
			return tNE, 2
		case "&&":
			return tAnd, 2
		case "||":
			return tOr, 2
		case "+=":
			return tPlusAssign, 2
		}
	}
	switch s[0] {
	case '[':
		return tLBrack, 1
	case ']':
		return tRBrack, 1
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case ',':
		return tComma, 1
	case '+':
		return tPlus, 1
	case '-':
		return tMinus, 1
	case '*':
		return tStar, 1
	case '/':
		return tSlash, 1
	case '%':
		return tPercent, 1
	case '<':
		return tLT, 1
	case '>':
		return tGT, 1
	case '!':
		return tNot, 1
	case '=':
		return tAssign, 1
	}
	return tEOF, 0
}

// describe names a token for an error message.
func describe(t token) string {
	if t.kind == tEOF {
		return "end of text"
	}
	return strconv.Quote(t.text)
}
