package kaconf

// stmt is one statement: a keyword, its arguments and, if it opens one, a
// block of statements.
type stmt struct {
	pos   Pos
	words []string
	// text is the statement's whole logical line when the statement starts
	// it, so script command lines can be re-split with single quotes and
	// escapes as keepalived does; "" otherwise.
	text     string
	hasBlock bool
	block    []*stmt
}

func (s *stmt) keyword() string { return s.words[0] }

// buildTree groups lines into statements and blocks. Unquoted "{" and "}"
// words are the braces; "{" may follow its keyword on the same line or
// stand on the next line, and "}" may end a line with other words on it,
// as keepalived accepts.
func buildTree(lines []line) ([]*stmt, error) {
	root := &stmt{}
	stack := []*stmt{root}
	for _, l := range lines {
		var cur []string
		first := true
		flush := func() {
			if len(cur) == 0 {
				return
			}
			s := &stmt{pos: l.pos, words: cur}
			if first {
				s.text = l.text
			}
			top := stack[len(stack)-1]
			top.block = append(top.block, s)
			cur, first = nil, false
		}
		for i, w := range l.words {
			switch {
			case !w.quoted && w.s == "{":
				top := stack[len(stack)-1]
				if len(cur) > 0 {
					flush()
				} else if i > 0 || len(top.block) == 0 || top.block[len(top.block)-1].hasBlock {
					return nil, errorf(l.pos, "\"{\" without a keyword before it")
				}
				opener := top.block[len(top.block)-1]
				opener.hasBlock = true
				stack = append(stack, opener)
			case !w.quoted && w.s == "}":
				flush()
				if len(stack) == 1 {
					return nil, errorf(l.pos, "\"}\" without an open block")
				}
				stack = stack[:len(stack)-1]
			default:
				cur = append(cur, w.s)
			}
			if len(cur) == 0 && i == 0 {
				first = false
			}
		}
		flush()
	}
	if len(stack) > 1 {
		s := stack[len(stack)-1]
		return nil, errorf(s.pos, "block %q is not closed", s.keyword())
	}
	return root.block, nil
}
