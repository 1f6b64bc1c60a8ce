//! A build without the `s3` cargo feature: the client's calls, each refusing its `s3://`
//! location with one message, so an S3 path is named and refused, never read as a file.
//! No [`Object`] is ever listed, so the readers of [`read`] are never reached.

use super::{Error, Location, Object, Settings};

fn refused(url: String) -> Error {
    Error {
        url,
        message: "this agent-audit was built without S3 support (the `s3` cargo feature, on by \
                  default; build with `--features s3`)"
            .to_string(),
        not_found: false,
    }
}

pub fn list(location: &Location, _: &Settings) -> Result<Vec<Object>, Error> {
    Err(refused(location.url()))
}

pub fn put(location: &Location, _: &Settings, _: &[u8]) -> Result<(), Error> {
    Err(refused(location.url()))
}

pub fn delete(location: &Location, _: &Settings) -> Result<(), Error> {
    Err(refused(location.url()))
}

pub fn get(location: &Location, _: &Settings) -> Result<Vec<u8>, Error> {
    Err(refused(location.url()))
}

pub fn names(location: &Location, _: &Settings) -> Result<Vec<String>, Error> {
    Err(refused(location.url()))
}

/// The streaming reads of objects, which no object reaches in this build.
pub mod read {
    use std::io;
    use std::ops::Range;

    use super::{Object, refused};

    /// An object's bytes: in this build, the refusal.
    pub struct ObjectReader(Option<io::Error>);

    impl io::Read for ObjectReader {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            match self.0.take() {
                Some(e) => Err(e),
                None => Ok(0),
            }
        }
    }

    pub fn plan(_: Vec<Object>) {}

    pub fn open(object: &Object) -> ObjectReader {
        ObjectReader(Some(refused(object.url()).into_io()))
    }

    pub fn open_range(object: &Object, _: Range<u64>) -> ObjectReader {
        open(object)
    }

    pub fn read_range(object: &Object, _: Range<u64>) -> io::Result<Vec<u8>> {
        Err(refused(object.url()).into_io())
    }
}
