package db

import (
	"path/filepath"
	"testing"
)

func TestInitialized(t *testing.T) {
	opened := t.TempDir()
	openTestDB(t, opened).Close()
	tests := []struct {
		name    string
		dir     string
		want    bool
		wantErr bool
	}{
		{"missing dir", filepath.Join(t.TempDir(), "nope"), false, false},
		{"empty dir", t.TempDir(), false, false},
		{"opened once", opened, true, false},
		{"a file, not a dir", filepath.Join(opened, metaFile), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Initialized(tt.dir)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("Initialized = %v, %v; want %v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
