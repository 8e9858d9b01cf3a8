//! An inventory kept on disk while a live scan collects it: each unit's deployments are written
//! to an unnamed temporary file as the unit is read, and read back one unit at a time, in the
//! inventory's order, to write the inventory or compare it with an earlier one. What keeps a
//! scan's memory flat in the number of accounts.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use super::{Deployment, Inventory};

/// Deployments being spooled, in parts that may arrive in any order.
pub struct Spool {
    file: BufWriter<File>,
    written: u64,
    parts: Vec<Part>,
    deployments: usize,
    /// The first write that failed; reported by [`Spool::finish`].
    error: Option<io::Error>,
}

/// Where one part's deployments are: a JSON array at `offset`, `len` bytes long.
#[derive(Clone, Copy)]
struct Part {
    index: usize,
    offset: u64,
    len: u64,
}

impl Spool {
    /// A spool in `dir`, or in the temporary directory (`TMPDIR`); removed when dropped (it has
    /// no name).
    pub fn new(dir: Option<&Path>) -> io::Result<Spool> {
        let file = match dir {
            Some(dir) => tempfile::tempfile_in(dir)?,
            None => tempfile::tempfile()?,
        };
        Ok(Spool {
            file: BufWriter::new(file),
            written: 0,
            parts: Vec::new(),
            deployments: 0,
            error: None,
        })
    }

    /// Adds part `index` of the inventory. A write error is kept for [`Spool::finish`], so a
    /// collection is not interrupted by it.
    pub fn add(&mut self, index: usize, deployments: &[Deployment]) {
        if self.error.is_some() {
            return;
        }
        let mut counted = Counted {
            inner: &mut self.file,
            written: 0,
        };
        match serde_json::to_writer(&mut counted, deployments) {
            Ok(()) => {
                let len = counted.written;
                self.parts.push(Part {
                    index,
                    offset: self.written,
                    len,
                });
                self.written += len;
                self.deployments += deployments.len();
            }
            Err(e) => self.error = Some(e.into()),
        }
    }

    /// Every part written, in the inventory's order, or the first error.
    pub fn finish(mut self) -> io::Result<Spooled> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.parts.sort_by_key(|p| p.index);
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        Ok(Spooled {
            file,
            parts: self.parts,
            deployments: self.deployments,
        })
    }
}

/// Counts the bytes written through it.
struct Counted<'a, W> {
    inner: &'a mut W,
    written: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A spooled inventory's deployments, read back one part at a time.
pub struct Spooled {
    file: File,
    parts: Vec<Part>,
    deployments: usize,
}

impl Spooled {
    /// Number of deployments.
    pub fn len(&self) -> usize {
        self.deployments
    }

    pub fn is_empty(&self) -> bool {
        self.deployments == 0
    }

    fn read(&self, part: &Part) -> io::Result<Vec<Deployment>> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(part.offset))?;
        let mut text = Vec::with_capacity(part.len as usize);
        file.take(part.len).read_to_end(&mut text)?;
        Ok(serde_json::from_slice(&text)?)
    }

    /// The deployments in the inventory's order; only one part is in memory at a time.
    pub fn iter(&self) -> impl Iterator<Item = io::Result<Deployment>> + '_ {
        self.parts.iter().flat_map(|part| match self.read(part) {
            Ok(deployments) => deployments.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
    }

    /// The inventory `header` with these deployments, as one document: the same bytes as
    /// serializing the whole inventory, without holding it.
    pub fn with_header<'a>(&'a self, header: &'a Inventory) -> impl Serialize + 'a {
        WithHeader {
            header,
            spooled: self,
        }
    }
}

struct WithHeader<'a> {
    header: &'a Inventory,
    spooled: &'a Spooled,
}

/// Field for field as `Inventory`'s derived `Serialize` (a test keeps them the same).
impl Serialize for WithHeader<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let h = self.header;
        let optional = usize::from(!h.accounts.is_empty()) + usize::from(h.shard.is_some());
        let mut s = serializer.serialize_struct("Inventory", 5 + optional)?;
        s.serialize_field("schema_version", &h.schema_version)?;
        s.serialize_field("collected_at", &h.collected_at)?;
        s.serialize_field("collector", &h.collector)?;
        s.serialize_field("deployments", &Deployments(self.spooled))?;
        s.serialize_field("coverage", &h.coverage)?;
        if !h.accounts.is_empty() {
            s.serialize_field("accounts", &h.accounts)?;
        }
        if let Some(shard) = &h.shard {
            s.serialize_field("shard", shard)?;
        }
        s.end()
    }
}

struct Deployments<'a>(&'a Spooled);

impl Serialize for Deployments<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for d in self.0.iter() {
            let d = d.map_err(|e| {
                S::Error::custom(format!("cannot read back the inventory spooled to disk: {e}"))
            })?;
            seq.serialize_element(&d)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{CoverageEntry, CoverageStatus};

    fn deployment(account: &str, region: &str, id: &str) -> Deployment {
        let mut d: Deployment =
            serde_json::from_str(include_str!("../../tests/fixtures/replication-group.json")).unwrap();
        d.arn = format!("arn:aws:elasticache:{region}:{account}:replicationgroup:{id}");
        (d.account_id, d.region, d.id) = (account.into(), region.into(), id.into());
        d
    }

    /// With `shard`, the optional header fields too: the shard and the organization's accounts.
    fn inventory(shard: bool) -> Inventory {
        let mut inv = Inventory::new();
        inv.collected_at = Some("2026-11-29T12:00:00Z".parse().unwrap());
        inv.deployments = vec![
            deployment("111111111111", "eu-west-1", "a"),
            deployment("111111111111", "eu-west-1", "b"),
            deployment("222222222222", "us-east-1", "c"),
        ];
        inv.coverage = vec![CoverageEntry {
            account_id: "111111111111".into(),
            region: "eu-west-1".into(),
            service: "elasticache".into(),
            api: "DescribeReplicationGroups".into(),
            status: CoverageStatus::Read,
            error: None,
            calls: Some(1),
        }];
        if shard {
            inv.shard = Some(crate::shard::ShardInfo {
                index: 1,
                count: 2,
                units: vec!["111111111111/eu-west-1".into()],
                planned_units: 2,
            });
            inv.accounts = vec![crate::inventory::Account {
                id: "111111111111".into(),
                name: Some("payments".into()),
                ou_path: Some("Root/Workloads/Prod".into()),
                ou_id: Some("ou-ab12-prod0001".into()),
                organization_id: Some("o-exampleorg".into()),
            }];
        }
        inv
    }

    /// Parts added out of order come back in order, and the document is byte for byte the
    /// derived serialization of the same inventory, compact and pretty.
    #[test]
    fn a_spooled_inventory_serializes_as_the_whole_one() {
        for shard in [false, true] {
            let whole = inventory(shard);
            let mut spool = Spool::new(None).unwrap();
            spool.add(2, &whole.deployments[2..]);
            spool.add(1, &[]);
            spool.add(0, &whole.deployments[..2]);
            let spooled = spool.finish().unwrap();
            assert_eq!(spooled.len(), 3);
            let back: Vec<Deployment> = spooled.iter().collect::<io::Result<_>>().unwrap();
            assert_eq!(back, whole.deployments);

            let header = Inventory {
                deployments: Vec::new(),
                ..whole.clone()
            };
            assert_eq!(
                serde_json::to_string(&spooled.with_header(&header)).unwrap(),
                serde_json::to_string(&whole).unwrap()
            );
            assert_eq!(
                serde_json::to_string_pretty(&spooled.with_header(&header)).unwrap(),
                serde_json::to_string_pretty(&whole).unwrap()
            );
        }
    }

    #[test]
    fn an_empty_spool_is_an_empty_list() {
        let spooled = Spool::new(None).unwrap().finish().unwrap();
        let header = inventory(false);
        let header = Inventory {
            deployments: Vec::new(),
            ..header
        };
        assert_eq!(
            serde_json::to_string_pretty(&spooled.with_header(&header)).unwrap(),
            serde_json::to_string_pretty(&header).unwrap()
        );
    }
}
