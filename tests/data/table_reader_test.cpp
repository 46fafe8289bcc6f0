#include "data/tables/table_reader.h"

#include <gtest/gtest.h>

#include "support/error_matchers.h"
#include "support/test_support.h"

namespace dtrain::data {
namespace {

using dtrain::testing::ScratchDir;
using dtrain::testing::write_file;

std::vector<TableRow> read_all(const std::filesystem::path& path, TableFormat format, bool has_header,
                               const std::vector<std::string>& columns) {
  auto reader = TableReader::open(path, format, has_header, columns);
  std::vector<TableRow> rows;
  TableRow row;
  while (reader->next(row)) rows.push_back(row);
  return rows;
}

TEST(TsvReader, SelectsColumnsByNameAndIndexWithoutQuoteProcessing) {
  ScratchDir dir;
  // A byte order mark, CRLF line ends, a blank line and GLUE's unbalanced quotes.
  write_file(dir / "t.tsv",
             "\xEF\xBB\xBFid\tsentence\tlabel\r\n7\t\" he said\t1\r\n\r\n8\tplain, text\t0\r\n");
  const auto rows = read_all(dir / "t.tsv", TableFormat::tsv, true, {"sentence", "0", "label"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[0].values, (std::vector<std::string>{"\" he said", "7", "1"}));
  EXPECT_EQ(rows[1].line, 4);
  EXPECT_EQ(rows[1].values, (std::vector<std::string>{"plain, text", "8", "0"}));
}

TEST(TsvReader, WithoutHeaderUsesIndicesAndReadsTheFirstLine) {
  ScratchDir dir;
  write_file(dir / "cola.tsv", "gj04\t1\t\tThe sailors rode.\ngj04\t0\t*\tBad sentence.\n");
  const auto rows = read_all(dir / "cola.tsv", TableFormat::tsv, false, {"3", "1"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].values, (std::vector<std::string>{"The sailors rode.", "1"}));
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_DTRAIN_ERROR(read_all(dir / "cola.tsv", TableFormat::tsv, false, {"sentence"}),
                      "cola.tsv: column 'sentence' must be a 0-based index when the file has no header");
}

TEST(TsvReader, UnknownColumnListsTheHeader) {
  ScratchDir dir;
  write_file(dir / "t.tsv", "sentence\tlabel\na\t1\n");
  EXPECT_DTRAIN_ERROR(read_all(dir / "t.tsv", TableFormat::tsv, true, {"text"}),
                      "t.tsv: unknown column 'text' (header: sentence, label)");
}

TEST(TsvReader, RowWithTooFewFieldsNamesFileAndLine) {
  ScratchDir dir;
  write_file(dir / "t.tsv", "sentence\tlabel\na\t1\nno label here\n");
  EXPECT_DTRAIN_ERROR(read_all(dir / "t.tsv", TableFormat::tsv, true, {"sentence", "label"}),
                      "t.tsv:3: row has 1 fields, but column 'label' is field 1 (0-based)");
}

TEST(TsvReader, MissingFileAndEmptyFileAreClearErrors) {
  ScratchDir dir;
  EXPECT_DTRAIN_ERROR(TableReader::open(dir / "none.tsv", TableFormat::tsv, true, {"a"}),
                      "none.tsv: no such file");
  write_file(dir / "empty.tsv", "");
  EXPECT_DTRAIN_ERROR(TableReader::open(dir / "empty.tsv", TableFormat::tsv, true, {"a"}),
                      "empty.tsv: the file is empty; expected a header row");
}

TEST(CsvReader, HandlesRfc4180Quoting) {
  ScratchDir dir;
  write_file(dir / "t.csv",
             "text,label,note\n"
             "\"a, b\",1,\n"
             "\"she said \"\"hi\"\"\",0,x\n"
             "\"two\nlines\",1,\"\"\n"
             "last,0,y\n");
  const auto rows = read_all(dir / "t.csv", TableFormat::csv, true, {"text", "label", "note"});
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].values, (std::vector<std::string>{"a, b", "1", ""}));
  EXPECT_EQ(rows[1].values, (std::vector<std::string>{"she said \"hi\"", "0", "x"}));
  EXPECT_EQ(rows[2].values, (std::vector<std::string>{"two\nlines", "1", ""}));
  EXPECT_EQ(rows[2].line, 4);
  EXPECT_EQ(rows[3].line, 6);  // the record after a multi-line field keeps its true line number
}

TEST(CsvReader, MalformedQuotingIsAnError) {
  ScratchDir dir;
  write_file(dir / "open.csv", "text,label\n\"never closed,1\nmore,0\n");
  EXPECT_DTRAIN_ERROR(read_all(dir / "open.csv", TableFormat::csv, true, {"text"}),
                      "open.csv:2: quoted field is never closed");
  write_file(dir / "junk.csv", "text,label\n\"quoted\"junk,1\n");
  EXPECT_DTRAIN_ERROR(read_all(dir / "junk.csv", TableFormat::csv, true, {"text"}),
                      "junk.csv:2: unexpected character 'j' after a closing quote");
}

TEST(JsonlReader, ReadsKeysAndConvertsNumbers) {
  ScratchDir dir;
  write_file(dir / "t.jsonl",
             "{\"text\": \"caf\\u00e9\", \"label\": 2, \"score\": 0.5}\n\n{\"label\": 0, \"text\": \"b\", "
             "\"score\": 3}\n");
  const auto rows = read_all(dir / "t.jsonl", TableFormat::jsonl, true, {"text", "label", "score"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].values, (std::vector<std::string>{"caf\xC3\xA9", "2", "0.5"}));
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].values, (std::vector<std::string>{"b", "0", "3"}));
}

TEST(JsonlReader, ArraysAreIndexedByPosition) {
  ScratchDir dir;
  write_file(dir / "t.jsonl", "[\"x\", 1]\n");
  EXPECT_EQ(read_all(dir / "t.jsonl", TableFormat::jsonl, true, {"1", "0"})[0].values,
            (std::vector<std::string>{"1", "x"}));
}

TEST(JsonlReader, BadRecordsNameFileAndLine) {
  ScratchDir dir;
  write_file(dir / "missing.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n");
  EXPECT_DTRAIN_ERROR(read_all(dir / "missing.jsonl", TableFormat::jsonl, true, {"text", "label"}),
                      "missing.jsonl:2: no key 'label'");
  write_file(dir / "broken.jsonl", "{\"text\": \"a\",\n");
  EXPECT_DTRAIN_ERROR(read_all(dir / "broken.jsonl", TableFormat::jsonl, true, {"text"}),
                      "broken.jsonl:1: not valid JSON");
  write_file(dir / "null.jsonl", "{\"text\": null}\n");
  EXPECT_DTRAIN_ERROR(read_all(dir / "null.jsonl", TableFormat::jsonl, true, {"text"}),
                      "null.jsonl:1: 'text' is null, expected a string or a number");
}

TEST(TableFormat, ComesFromTheExtensionOrTheOption) {
  EXPECT_EQ(table_format_from_extension("a/train.TSV"), TableFormat::tsv);
  EXPECT_EQ(table_format_from_extension("x.csv"), TableFormat::csv);
  EXPECT_EQ(table_format_from_extension("x.jsonl"), TableFormat::jsonl);
  EXPECT_DTRAIN_ERROR(table_format_from_extension("x.txt"), "x.txt: cannot tell the table format");
  EXPECT_EQ(parse_table_format("csv"), TableFormat::csv);
  EXPECT_DTRAIN_ERROR(parse_table_format("xml"), "unknown table format 'xml'");
}

}  // namespace
}  // namespace dtrain::data
