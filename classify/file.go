package classify

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// FormatVersion is the version of the model file this build writes and
// reads. A file of another version is refused: retrain it.
const FormatVersion = 1

// magic is the model file's first line.
const magic = "switchboard-classify-model\n"

// ErrFormatVersion is the kind of error Load returns for a model file of
// another format version.
var ErrFormatVersion = errors.New("model file format version mismatch")

// The file is the magic line, the Meta as one line of JSON, then a gzip
// stream of little-endian binary: the vocabulary size n, the n term keys
// (uint64, ascending), their idf (float32) and group (uint8), the number of
// classes k and k×(n+1) weights (float32).

// Save writes the model to w.
func (m *Model) Save(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(magic)
	meta, err := json.Marshal(m.Meta)
	if err != nil {
		return fmt.Errorf("encoding model metadata: %w", err)
	}
	bw.Write(meta)
	bw.WriteByte('\n')
	zw := gzip.NewWriter(bw)
	v := m.lin.vocab
	n := len(v.idf)
	keys := make([]uint64, n)
	for k, i := range v.index {
		keys[i] = uint64(k)
	}
	put := func(x any) {
		if err == nil {
			err = binary.Write(zw, binary.LittleEndian, x)
		}
	}
	put(uint64(n))
	put(keys)
	put(v.idf)
	put(v.group)
	put(uint64(len(m.lin.w)))
	for _, w := range m.lin.w {
		put(w)
	}
	if err != nil {
		return fmt.Errorf("writing model weights: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing model weights: %w", err)
	}
	return bw.Flush()
}

// SaveFile writes the model to a file, atomically: a temporary file renamed
// over path.
func (m *Model) SaveFile(path string) error {
	tmp, err := os.CreateTemp(dirOf(path), ".model-*")
	if err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := m.Save(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("saving model: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("saving model: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving model: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}

// LoadOptions are what a model needs besides its file.
type LoadOptions struct {
	// Segmenter is required for a model trained with word features.
	Segmenter Segmenter
}

// Load reads a model file.
func Load(path string) (*Model, error) { return LoadWith(path, LoadOptions{}) }

// LoadWith reads a model file with options.
func LoadWith(path string, opt LoadOptions) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	defer f.Close()
	m, err := Read(f, opt)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", path, err)
	}
	return m, nil
}

// Read decodes a model written by Save.
func Read(r io.Reader, opt LoadOptions) (*Model, error) {
	br := bufio.NewReader(r)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != magic {
		return nil, errors.New("not a switchboard classifier model file")
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("reading model metadata: %w", err)
	}
	var ver struct {
		FormatVersion int `json:"format_version"`
	}
	if err := json.Unmarshal(line, &ver); err != nil {
		return nil, fmt.Errorf("reading model metadata: %w", err)
	}
	if ver.FormatVersion != FormatVersion {
		return nil, fmt.Errorf("%w: the file has version %d, this build reads version %d; train the model again with this build",
			ErrFormatVersion, ver.FormatVersion, FormatVersion)
	}
	m := &Model{}
	if err := json.Unmarshal(line, &m.Meta); err != nil {
		return nil, fmt.Errorf("reading model metadata: %w", err)
	}
	cfg := m.Meta.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("model metadata: %w", err)
	}
	if cfg.Features.Words && opt.Segmenter == nil {
		return nil, errors.New("the model uses word features: load it with a segmenter")
	}
	if cfg.Gazetteer != nil {
		cfg.Gazetteer.index(nil)
	}
	k := len(m.Meta.Labels)
	if k < 2 || len(m.Meta.Thresholds) != k || !slices.IsSorted(m.Meta.Labels) {
		return nil, errors.New("model metadata: bad label set or thresholds")
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("reading model weights: %w", err)
	}
	get := func(x any) {
		if err == nil {
			err = binary.Read(zr, binary.LittleEndian, x)
		}
	}
	var n, kk uint64
	get(&n)
	if err == nil && n > 1<<28 {
		err = fmt.Errorf("vocabulary of %d terms is implausible", n)
	}
	if err != nil {
		return nil, fmt.Errorf("reading model weights: %w", err)
	}
	keys := make([]uint64, n)
	v := &vocabulary{index: make(map[termKey]int32, n), idf: make([]float32, n), group: make([]uint8, n)}
	get(keys)
	get(v.idf)
	get(v.group)
	get(&kk)
	if err == nil && kk != uint64(k) {
		err = fmt.Errorf("%d weight vectors for %d labels", kk, k)
	}
	lin := &linear{vocab: v, w: make([][]float32, k)}
	for c := range lin.w {
		lin.w[c] = make([]float32, n+1)
		get(lin.w[c])
	}
	if err != nil {
		return nil, fmt.Errorf("reading model weights: %w", err)
	}
	for i, key := range keys {
		if v.group[i] >= numGroups || math.IsNaN(float64(v.idf[i])) {
			return nil, errors.New("reading model weights: corrupt vocabulary")
		}
		v.index[termKey(key)] = int32(i)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("reading model weights: %w", err)
	}
	m.lin = lin
	m.ext = extractor{cfg: cfg.Features, seg: opt.Segmenter, gaz: cfg.Gazetteer}
	return m, nil
}
