package eightbyeight

import "testing"

func TestPackID(t *testing.T) {
	for in, ok := range map[string]bool{
		"bda3d56d-1424-e711-813c-06ed3428fe67": true,
		"00000001-376b-11ef-a28b-0582ff0039d5": true,
		"BDA3D56D-1424-E711-813C-06ED3428FE67": false, // upper case: kept as text, never rewritten
		"bda3d56d1424e711813c06ed3428fe67":     false,
		"bda3d56d-1424-e711-813c-06ed3428fe6g": false,
		"":                                     false,
	} {
		b, got := PackID(in)
		if got != ok {
			t.Errorf("PackID(%q) ok = %v, want %v", in, got, ok)
		}
		if ok && UnpackID(b) != in {
			t.Errorf("UnpackID(PackID(%q)) = %q", in, UnpackID(b))
		}
	}
}
