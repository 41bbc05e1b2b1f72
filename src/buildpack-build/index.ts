import { runAction } from '../lib/action.js';
import { main } from './main.js';

await runAction(main);
