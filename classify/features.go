package classify

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// FeatureConfig says which terms a text is turned into and how they are
// weighted. The zero value is not useful; DefaultFeatures is the measured
// default.
type FeatureConfig struct {
	// CharMin and CharMax are the shortest and longest character n-grams
	// taken (0, 0: none). N-grams never cross punctuation or spaces.
	CharMin int `json:"char_min"`
	CharMax int `json:"char_max"`
	// Words takes the segmenter's words as terms; WordBigrams also takes
	// pairs of neighbouring words. Both need a Segmenter.
	Words       bool `json:"words"`
	WordBigrams bool `json:"word_bigrams"`
	// MinDF drops terms found in fewer training documents.
	MinDF int `json:"min_df"`
	// MaxFeatures keeps at most this many terms, the most widespread first:
	// it bounds the model's memory whatever the training set.
	MaxFeatures int `json:"max_features"`
	// WordWeight and ExtraWeight scale the word group and the caller's
	// extra-token group against the character group (each group is L2
	// normalised on its own, then scaled; 0 means 1).
	WordWeight  float64 `json:"word_weight"`
	ExtraWeight float64 `json:"extra_weight"`
}

// DefaultFeatures is character 1–2-grams: see the package documentation for
// the comparison with words.
func DefaultFeatures() FeatureConfig {
	return FeatureConfig{CharMin: 1, CharMax: 2, MinDF: 2, MaxFeatures: 400_000}
}

// Validate reports a configuration that cannot work.
func (c FeatureConfig) Validate() error {
	switch {
	case c.CharMin < 0 || c.CharMax < c.CharMin || c.CharMax > 8:
		return fmt.Errorf("features: char n-gram range %d–%d: want 0 ≤ min ≤ max ≤ 8", c.CharMin, c.CharMax)
	case c.CharMax == 0 && !c.Words:
		return fmt.Errorf("features: neither character n-grams nor words selected")
	case c.WordBigrams && !c.Words:
		return fmt.Errorf("features: word_bigrams needs words")
	case c.MinDF < 0 || c.MaxFeatures < 0:
		return fmt.Errorf("features: min_df and max_features must not be negative")
	}
	return nil
}

// Term groups: each is normalised separately.
const (
	groupChar = iota
	groupWord
	groupExtra
	numGroups
)

// FNV-1a, 64 bit, fed rune by rune.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvRune(h uint64, r rune) uint64 {
	for v := uint32(r); ; v >>= 8 {
		h ^= uint64(v & 0xff)
		h *= fnvPrime
		if v < 0x100 {
			return h
		}
	}
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// termKey is a hashed term: the group in the top byte, a 56-bit hash of the
// term's text below it. Collisions in 56 bits are negligible at the
// vocabulary sizes a model keeps.
type termKey uint64

func mkKey(group int, h uint64) termKey {
	return termKey(uint64(group)<<56 | h&(1<<56-1))
}

func (k termKey) group() int { return int(k >> 56) }

// termCount is one distinct term of a document with its count.
type termCount struct {
	key   termKey
	count float32
}

// extractor turns texts into sorted distinct terms with counts.
type extractor struct {
	cfg FeatureConfig
	seg Segmenter
	gaz *Gazetteer
}

// terms returns the distinct terms of a text plus the caller's extra tokens,
// sorted by key.
func (e extractor) terms(text string, extra []string) []termCount {
	keys := make([]termKey, 0, 4*len(text)/3+len(extra))
	if e.cfg.CharMax > 0 {
		for _, run := range normalize(text, nil) {
			for i := range run {
				h := uint64(fnvOffset)
				for n := 1; n <= e.cfg.CharMax && i+n <= len(run); n++ {
					h = fnvRune(h, run[i+n-1])
					if n >= e.cfg.CharMin {
						keys = append(keys, mkKey(groupChar, h^uint64(n)))
					}
				}
			}
		}
	}
	if e.cfg.Words && e.seg != nil {
		prev := ""
		for _, w := range e.seg.Segment(text) {
			w = normWord(w)
			if w == "" {
				prev = ""
				continue
			}
			keys = append(keys, mkKey(groupWord, fnvString(fnvOffset, w)))
			if e.cfg.WordBigrams && prev != "" {
				keys = append(keys, mkKey(groupWord, fnvString(fnvString(fnvOffset, prev)^0x1f, w)))
			}
			prev = w
		}
	}
	if e.gaz != nil {
		extra = append(slices.Clip(extra), e.gaz.Tokens(text)...)
	}
	for _, x := range extra {
		keys = append(keys, mkKey(groupExtra, fnvString(fnvOffset, x)))
	}
	slices.Sort(keys)
	out := make([]termCount, 0, len(keys))
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		out = append(out, termCount{keys[i], float32(j - i)})
		i = j
	}
	return out
}

// vocabulary maps kept terms to dense feature indices, with their inverse
// document frequencies.
type vocabulary struct {
	index map[termKey]int32
	idf   []float32
	group []uint8
}

// buildVocabulary keeps the terms of at least minDF documents, at most
// maxFeatures of them (highest document frequency first, ties by key, so the
// result is deterministic), with smoothed idf = ln((1+n)/(1+df)) + 1.
func buildVocabulary(docs [][]termCount, cfg FeatureConfig) *vocabulary {
	df := make(map[termKey]int32)
	for _, d := range docs {
		for _, t := range d {
			df[t.key]++
		}
	}
	type kd struct {
		k  termKey
		df int32
	}
	kept := make([]kd, 0, len(df))
	minDF := int32(max(cfg.MinDF, 1))
	for k, n := range df {
		// Extra tokens are few and deliberate: keep them even when rare.
		if n >= minDF || k.group() == groupExtra {
			kept = append(kept, kd{k, n})
		}
	}
	slices.SortFunc(kept, func(a, b kd) int {
		if c := cmp.Compare(b.df, a.df); c != 0 {
			return c
		}
		return cmp.Compare(a.k, b.k)
	})
	if cfg.MaxFeatures > 0 && len(kept) > cfg.MaxFeatures {
		kept = kept[:cfg.MaxFeatures]
	}
	// Index in key order so that equal inputs give equal models.
	slices.SortFunc(kept, func(a, b kd) int { return cmp.Compare(a.k, b.k) })
	v := &vocabulary{
		index: make(map[termKey]int32, len(kept)),
		idf:   make([]float32, len(kept)),
		group: make([]uint8, len(kept)),
	}
	n := float64(len(docs))
	for i, t := range kept {
		v.index[t.k] = int32(i)
		v.idf[i] = float32(math.Log((1+n)/(1+float64(t.df))) + 1)
		v.group[i] = uint8(t.k.group())
	}
	return v
}

// sparse is a feature vector: indices ascending, values alongside.
type sparse struct {
	idx []int32
	val []float32
}

// vectorize weights a document's terms by sublinear tf × idf and L2
// normalises each term group, scaled by its weight.
func (v *vocabulary) vectorize(doc []termCount, cfg FeatureConfig) sparse {
	s := sparse{idx: make([]int32, 0, len(doc)), val: make([]float32, 0, len(doc))}
	var norm [numGroups]float64
	for _, t := range doc {
		i, ok := v.index[t.key]
		if !ok {
			continue
		}
		x := (1 + float32(math.Log(float64(t.count)))) * v.idf[i]
		s.idx = append(s.idx, i)
		s.val = append(s.val, x)
		norm[v.group[i]] += float64(x) * float64(x)
	}
	weight := [numGroups]float64{1, orOne(cfg.WordWeight), orOne(cfg.ExtraWeight)}
	var scale [numGroups]float32
	for g := range norm {
		if norm[g] > 0 {
			scale[g] = float32(weight[g] / math.Sqrt(norm[g]))
		}
	}
	for j, i := range s.idx {
		s.val[j] *= scale[v.group[i]]
	}
	// Terms come sorted by key and indices are assigned in key order, so
	// s.idx is already ascending.
	return s
}

func orOne(x float64) float64 {
	if x == 0 {
		return 1
	}
	return x
}
