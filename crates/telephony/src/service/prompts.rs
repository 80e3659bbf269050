//! Prompts read once: a file is decoded into 20 ms frames the first time a call plays it and the
//! frames are shared by every later call, until the file changes (an admin uploads a recording:
//! `prompts::write_prompt` renames a new file over the old one, so it has a new inode and time).
//! Reading and decoding every prompt on every call was most of the service's CPU under load
//! (`leadline bench calls`), and it ran between the 200 OK and the first prompt packet.

use crate::pacing::{self, SAMPLES_PER_PACKET};
use crate::wav;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// 20 ms of audio.
pub(super) type Frame = [i16; SAMPLES_PER_PACKET];

/// The beep before a voicemail recording.
const TONE: Duration = Duration::from_millis(400);

#[derive(Default)]
pub(super) struct PromptCache {
    files: Mutex<HashMap<PathBuf, Entry>>,
}

struct Entry {
    version: Version,
    frames: Arc<[Frame]>,
}

/// What tells one version of a file from the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    modified: Option<SystemTime>,
    length: u64,
    inode: u64,
}

impl Version {
    fn of(path: &Path) -> std::io::Result<Self> {
        let metadata = std::fs::metadata(path)?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Self {
            modified: metadata.modified().ok(),
            length: metadata.len(),
            inode,
        })
    }
}

impl PromptCache {
    /// The prompt at `path` as frames (8 kHz mono 16-bit WAV), read from disk only when new or
    /// changed since the last call played it.
    pub(super) fn frames(&self, path: &Path) -> Result<Arc<[Frame]>, String> {
        let version = Version::of(path).map_err(|e| e.to_string())?;
        if let Some(entry) = self.lock().get(path)
            && entry.version == version
            && version.modified.is_some()
        {
            return Ok(entry.frames.clone());
        }
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let samples = wav::read(&bytes)
            .and_then(wav::Wav::into_telephone_samples)
            .map_err(|e| e.to_string())?;
        let frames: Arc<[Frame]> = pacing::frames(&samples).into();
        self.lock().insert(
            path.to_owned(),
            Entry {
                version,
                frames: frames.clone(),
            },
        );
        Ok(frames)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Entry>> {
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The 1 kHz beep before a voicemail recording, computed once.
pub(super) fn tone() -> Arc<[Frame]> {
    static TONE_FRAMES: OnceLock<Arc<[Frame]>> = OnceLock::new();
    TONE_FRAMES
        .get_or_init(|| pacing::frames(&pacing::tone(1000.0, TONE, 8000)).into())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::{prompt_path, write_prompt};

    #[test]
    fn a_prompt_is_read_once_and_again_when_an_admin_replaces_it() {
        let dir =
            std::env::temp_dir().join(format!("leadline-prompt-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cache = PromptCache::default();
        let path = prompt_path(&dir, "cmn", "goodbye");
        write_prompt(&dir, "cmn", "goodbye", &[1; 800]).unwrap();
        let first = cache.frames(&path).unwrap();
        assert_eq!((first.len(), first[0][0]), (5, 1));
        assert!(Arc::ptr_eq(&first, &cache.frames(&path).unwrap()), "shared");

        write_prompt(&dir, "cmn", "goodbye", &[2; 1600]).unwrap();
        let replaced = cache.frames(&path).unwrap();
        assert_eq!((replaced.len(), replaced[0][0]), (10, 2));

        std::fs::remove_file(&path).unwrap();
        assert!(cache.frames(&path).is_err(), "a removed prompt is missing");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_tone_is_400_ms() {
        assert_eq!(tone().len(), 20);
    }
}
