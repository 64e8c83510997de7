// Command gendevset writes the matcher's development set
// (engine/match/testdata/devset) from the public list and name material
// it is derived from: the OFAC SDN legacy CSV of 2021-07, the OFAC-derived
// alias pairs and the Wikidata personal-name slices. It is deterministic:
// the same material and seed give the same files.
//
//	go run ./engine/match/accuracy/gendevset -data ../shared/data -out engine/match/testdata/devset
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/watchpost/watchpost/engine/match/accuracy"
)

func main() {
	data := flag.String("data", "../shared/data", "folder holding lists/ofac_sdn_csv_2021-07 and names/")
	out := flag.String("out", "engine/match/testdata/devset", "folder to write the set to")
	seed := flag.Uint64("seed", 13, "random seed")
	flag.Parse()
	if err := run(*data, *out, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gendevset:", err)
		os.Exit(1)
	}
}

func run(data, out string, seed uint64) error {
	var src accuracy.Sources
	var err error
	src.List, src.Persons, err = accuracy.ReadOFAC(os.DirFS(filepath.Join(data, "lists", "ofac_sdn_csv_2021-07")))
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(data, "names", "derived_sanctions_alias_pairs.jsonl"))
	if err != nil {
		return err
	}
	src.AliasPairs, err = accuracy.ReadAliasPairs(f)
	f.Close()
	if err != nil {
		return err
	}
	for _, lang := range []string{"arabic", "russian", "hebrew"} {
		f, err := os.Open(filepath.Join(data, "names", "coling2018_wikidata", "wd_"+lang+"_16.tsv"))
		if err != nil {
			return err
		}
		ws, err := accuracy.ReadWikidataNames(f, "wikidata-"+lang[:2])
		f.Close()
		if err != nil {
			return err
		}
		src.Words = append(src.Words, ws...)
	}
	set := accuracy.Generate(src, accuracy.DefaultSizes, seed)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := set.WriteDir(out); err != nil {
		return err
	}
	for _, s := range accuracy.Sets {
		fmt.Printf("%-10s %5d cases\n", s, len(set.Cases[s]))
	}
	fmt.Printf("list       %5d entries\n", len(set.List))
	return nil
}
