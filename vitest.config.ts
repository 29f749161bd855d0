import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// WebGPU tests in Node run on Dawn; on a machine without a GPU, borrow Chromium's SwiftShader Vulkan driver.
// Set here (not in a setupFile): forked workers inherit it, and glibc reads LD_LIBRARY_PATH only at start.
if (process.env['VK_ICD_FILENAMES'] === undefined && existsSync('/usr/lib/chromium/vk_swiftshader_icd.json')) {
  process.env['VK_ICD_FILENAMES'] = '/usr/lib/chromium/vk_swiftshader_icd.json';
  process.env['LD_LIBRARY_PATH'] = ['/usr/lib/chromium', process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':');
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
  },
});
