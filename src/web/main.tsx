/** The dashboard's entry point (bundled by scripts/build.mjs into one ES module and one stylesheet). */
import { render } from 'preact';
import { App } from './app.js';
import './app.css';

render(<App />, document.getElementById('app')!);
